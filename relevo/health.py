"""Waiting for a process's HTTP health check, as `relevo up`, the tests and benchmarks do."""

from __future__ import annotations

import subprocess
import time

import httpx

from relevo.errors import RelevoError


class ProcessExitedError(RelevoError):
    """The process exited before it became healthy."""


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once `url` answers 200; raise when `process` exits or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessExitedError(f"The process behind {url} exited during start-up.")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RelevoError(f"{url} did not answer within {timeout:.0f} s.")
