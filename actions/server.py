"""`python -m actions.server ARGS`: rasa_sdk's action server, writing Relevo's log lines.

rasa_sdk sets up its coloured log lines in its main process only, and Sanic spawns the worker
process that runs the actions: there the root logger had no handler, so the actions' INFO lines
(each "kb decision" with its reason and gap, "handoff requested", "angry question") were
dropped, and operators could not see why the bot declined or escalated. Here both processes
write Relevo's key=value lines (`relevo.logs`, at `RELEVO_LOG_LEVEL`), each line once: Relevo's
handler takes the place of rasa_sdk's, it is not added to it. Each worker's app also serves
Relevo's `POST /relevo/prepare` (`actions.prepare`).

The arguments are those of `python -m rasa_sdk` (`relevo actions` passes `--actions actions
--port N`). Kept apart from `actions.runtime`, which every `relevo` command imports, so that
only the action server loads rasa_sdk's server.
"""

from __future__ import annotations

import warnings
from typing import Any

from rasa_sdk import __main__ as rasa_sdk_main
from rasa_sdk import endpoint
from rasa_sdk import utils as rasa_sdk_utils
from sanic import Sanic

from actions.prepare import add_prepare_route
from relevo.logs import configure
from relevo.settings import get_settings

_rasa_sdk_app = endpoint.create_app_for_serve
_VERSION_WARNING = "Your versions of rasa and rasa_sdk might not be compatible"
"""rasa_sdk's warning at every action call from Rasa 3.6: this pair (Rasa 3.6.21, the last open
release, and rasa-sdk 3.21 on Python 3.11) is the one the end-to-end tests run, so the line
would only be noise in operators' logs."""


def log_like_relevo(loglevel: object = None) -> None:
    """Relevo's log lines, in place of rasa_sdk's `configure_colored_logging(loglevel)`.

    The level is `RELEVO_LOG_LEVEL`, as in Relevo's other processes (`loglevel`, from rasa_sdk's
    `-v`/`--quiet`, is not used). Sanic's own loggers stay at rasa_sdk's level (errors only).
    """
    configure(get_settings().log_level)
    rasa_sdk_utils.update_sanic_log_level()
    warnings.filterwarnings("ignore", message=_VERSION_WARNING, category=UserWarning)


def _worker_app(*args: Any, **kwargs: Any) -> Sanic:
    """rasa_sdk's app, built in each worker that Sanic spawns, with Relevo's logging first.

    Relevo's `POST /relevo/prepare` (`actions.prepare`) is served beside rasa_sdk's routes.
    """
    log_like_relevo()
    app = _rasa_sdk_app(*args, **kwargs)
    add_prepare_route(app)
    return app


def serve() -> None:
    """Run rasa_sdk's command line with Relevo's logging in its main and worker processes."""
    rasa_sdk_utils.configure_colored_logging = log_like_relevo
    endpoint.create_app_for_serve = _worker_app  # Sanic pickles it for each worker
    rasa_sdk_main.main()


if __name__ == "__main__":
    serve()
