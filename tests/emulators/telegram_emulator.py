"""A local Telegram Bot API emulator for tests: telegram-test-api run by ``telegram/launcher.js``.

The bot side is the Bot API under ``bot_base_url`` (give it to python-telegram-bot with
``ApplicationBuilder().token(T).base_url(emu.bot_base_url).base_file_url(emu.bot_file_url)``).
The customer side is the emulator's own JSON API, wrapped by :class:`TelegramEmulator`.

Install the Node side once with ``npm ci --prefix tests/emulators/telegram``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

EMULATOR_DIR = Path(__file__).resolve().parent / "telegram"
LAUNCHER = EMULATOR_DIR / "launcher.js"


class EmulatorUnavailableError(RuntimeError):
    """Node or the emulator's npm packages are missing on this machine."""


class TelegramEmulator:
    """Runs the Telegram Bot API emulator as a Node subprocess and drives its customer side.

    One emulator serves any number of bots: every token (any string without ``/``) is a
    separate bot, so each test can use its own. Chat ids are integers; for a private chat the
    customer's user id defaults to the chat id, as in Telegram.

    Customer messages may carry any Bot API ``Message`` fields (the emulator passes them to the
    bot as sent), so non-text updates such as stickers and photos work, but the emulator has no
    file storage: ``getFile`` and downloads answer 404, and bots cannot send media.

    Example:
        with TelegramEmulator() as emu:
            emu.send_message("t1", 42, "hola")
            replies = emu.wait_for_bot_messages("t1", 42)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store_timeout: int = 600,
        startup_timeout: float = 20.0,
        node: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Configure the emulator (it starts on :meth:`start` or when entering the context).

        Args:
            host: Interface to listen on.
            port: TCP port; 0 lets the emulator pick a free one.
            store_timeout: Seconds the emulator keeps messages before forgetting them.
            startup_timeout: Seconds to wait for the emulator to report that it listens.
            node: The ``node`` executable; defaults to ``$TELEGRAM_EMULATOR_NODE`` or ``node``.
            env: Extra environment for the launcher (e.g. ``TELEGRAM_EMULATOR_DEBUG=1``).
        """
        self.host = host
        self.port = port
        self.store_timeout = store_timeout
        self.startup_timeout = startup_timeout
        self.node = node or os.environ.get("TELEGRAM_EMULATOR_NODE", "node")
        self.extra_env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._final_log = ""
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start the Node process and wait until it listens.

        Returns:
            The emulator itself.

        Raises:
            EmulatorUnavailableError: Node or ``node_modules`` is missing.
            RuntimeError: The emulator exited or did not become ready in time.
        """
        if self._process is not None:
            return self
        node = shutil.which(self.node)
        if node is None:
            raise EmulatorUnavailableError(f"Node.js ({self.node!r}) is not installed")
        if not (EMULATOR_DIR / "node_modules" / "telegram-test-api").is_dir():
            raise EmulatorUnavailableError(
                f"telegram-test-api is not installed: run `npm ci --prefix {EMULATOR_DIR}`"
            )
        self._log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open until stop()
            prefix="telegram-emulator-", suffix=".log", delete=False
        )
        command = [
            node,
            str(LAUNCHER),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--store-timeout",
            str(self.store_timeout),
            "--watch-stdin",
        ]
        self._process = subprocess.Popen(
            command,
            cwd=EMULATOR_DIR,
            env={**os.environ, **self.extra_env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            start_new_session=True,
        )
        try:
            self.port = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self._client = httpx.Client(base_url=self.base_url, timeout=10.0)
        return self

    def _wait_ready(self) -> int:
        """Read the launcher's stdout until ``READY <port>``, then keep draining it."""
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        lines: list[str] = []
        got_line = threading.Event()

        def read_first_line() -> None:
            lines.append(stdout.readline().decode("utf-8", "replace").strip())
            got_line.set()
            for _ in iter(stdout.readline, b""):  # drain, so the process never blocks on it
                pass

        threading.Thread(
            target=read_first_line, name="telegram-emulator-stdout", daemon=True
        ).start()
        if not got_line.wait(self.startup_timeout) or not lines[0].startswith("READY "):
            raise RuntimeError(
                f"the Telegram emulator did not start (exit code {self._process.poll()}):\n"
                + self.log_text()
            )
        return int(lines[0].split()[1])

    def stop(self) -> None:
        """Stop the Node process (and its process group); safe to call more than once."""
        if self._client is not None:
            self._client.close()
            self._client = None
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                self._signal_group(process, signal.SIGTERM)
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    self._signal_group(process, signal.SIGKILL)
                    process.wait(5)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        if self._log_file is not None:
            self._final_log = self.log_text()
            self._log_file.close()
            Path(self._log_file.name).unlink(missing_ok=True)
            self._log_file = None

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)  # its own session: the group id is its pid

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def is_running(self) -> bool:
        """Whether the Node process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The Node process id, while it runs."""
        return self._process.pid if self._process is not None else None

    def log_text(self) -> str:
        """The launcher's log (its stderr): so far while it runs, in full after :meth:`stop`."""
        if self._log_file is None:
            return self._final_log
        return Path(self._log_file.name).read_text(encoding="utf-8", errors="replace")

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        """The emulator's root URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """The Bot API base URL for python-telegram-bot's ``base_url`` (the token follows it)."""
        return f"{self.base_url}/bot"

    @property
    def bot_file_url(self) -> str:
        """The file base URL for python-telegram-bot's ``base_file_url``."""
        return f"{self.base_url}/file/bot"

    # ------------------------------------------------------------------ customer side

    @property
    def client(self) -> httpx.Client:
        """The HTTP client bound to the emulator (started emulators only)."""
        if self._client is None:
            raise RuntimeError("the Telegram emulator is not running")
        return self._client

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        response = self.client.post(path, json=payload)
        if response.status_code != 200:
            raise RuntimeError(f"emulator {path} answered {response.status_code}: {response.text}")
        return response.json().get("result")

    @staticmethod
    def _people(
        chat_id: int,
        *,
        user_id: int | None,
        first_name: str,
        username: str | None,
        chat_type: str,
        chat_title: str | None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``from`` and ``chat`` objects of a customer message."""
        uid = user_id if user_id is not None else (chat_id if chat_type == "private" else 1)
        user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = chat_title or f"Chat {chat_id}"
        if username:
            user["username"] = username
            if chat_type == "private":
                chat["username"] = username
        return user, chat

    def send_raw_message(
        self,
        token: str,
        chat_id: int,
        fields: dict[str, Any],
        *,
        user_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        command: bool = False,
    ) -> dict[str, Any]:
        """Send a customer message made of arbitrary Bot API ``Message`` fields.

        ``from``, ``chat`` and ``date`` are filled in; the emulator assigns ``message_id``.

        Args:
            token: The bot's token.
            chat_id: The chat the customer writes in.
            fields: Message fields, e.g. ``{"text": "hi"}`` or ``{"sticker": {...}}``.
            user_id: The customer's user id (defaults to ``chat_id`` in a private chat).
            first_name: The customer's first name.
            username: The customer's username, if any.
            chat_type: ``private``, ``group``, ``supergroup`` or ``channel``.
            chat_title: Title of a non-private chat.
            reply_to_message_id: Id of the message this one replies to (completed by the
                emulator from what it stored).
            command: Post to ``/sendCommand`` instead of ``/sendMessage``.

        Returns:
            The Update the bot will receive (``update_id`` and ``message``).
        """
        user, chat = self._people(
            chat_id,
            user_id=user_id,
            first_name=first_name,
            username=username,
            chat_type=chat_type,
            chat_title=chat_title,
        )
        payload: dict[str, Any] = {
            "botToken": token,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }
        if reply_to_message_id is not None:
            payload["reply_to_message"] = {"message_id": reply_to_message_id}
        result: dict[str, Any] = self._post("/sendCommand" if command else "/sendMessage", payload)
        return result

    def send_message(
        self,
        token: str,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send a customer text message to the bot.

        Args:
            token: The bot's token.
            chat_id: The chat the customer writes in.
            text: The text.
            user_id: The customer's user id (defaults to ``chat_id`` in a private chat).
            first_name: The customer's first name.
            username: The customer's username, if any.
            chat_type: ``private``, ``group``, ``supergroup`` or ``channel``.
            reply_to_message_id: Id of the message this one replies to.
            entities: Bot API ``MessageEntity`` dicts (offsets in UTF-16 code units).

        Returns:
            The Update the bot will receive (``update_id`` and ``message``).
        """
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        return self.send_raw_message(
            token,
            chat_id,
            fields,
            user_id=user_id,
            first_name=first_name,
            username=username,
            chat_type=chat_type,
            reply_to_message_id=reply_to_message_id,
        )

    def send_command(
        self,
        token: str,
        chat_id: int,
        command: str,
        args: str = "",
        *,
        user_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """Send a customer command such as ``/start payload`` (with its ``bot_command`` entity).

        Args:
            token: The bot's token.
            chat_id: The chat the customer writes in.
            command: The command, with or without the leading ``/`` (``start``, ``/help``).
            args: Text after the command, e.g. a deep-link payload.
            user_id: The customer's user id (defaults to ``chat_id`` in a private chat).
            first_name: The customer's first name.
            username: The customer's username, if any.
            chat_type: ``private``, ``group``, ``supergroup`` or ``channel``.

        Returns:
            The Update the bot will receive.
        """
        name = "/" + command.lstrip("/")
        text = f"{name} {args}" if args else name
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(name)}
        return self.send_raw_message(
            token,
            chat_id,
            {"text": text, "entities": [entity]},
            user_id=user_id,
            first_name=first_name,
            username=username,
            chat_type=chat_type,
            command=True,
        )

    def send_callback(
        self,
        token: str,
        chat_id: int,
        data: str,
        message_id: int,
        *,
        user_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """Press an inline button: a callback query on one of the bot's messages.

        Args:
            token: The bot's token.
            chat_id: The chat of the bot's message.
            data: The button's ``callback_data``.
            message_id: The bot's message with the button (from :meth:`bot_messages`,
                ``record["messageId"]``); the emulator fills the message in from what it stored.
            user_id: The customer's user id (defaults to ``chat_id`` in a private chat).
            first_name: The customer's first name.
            username: The customer's username, if any.
            chat_type: ``private``, ``group``, ``supergroup`` or ``channel``.

        Returns:
            The Update the bot will receive (``update_id`` and ``callback_query``).
        """
        user, chat = self._people(
            chat_id,
            user_id=user_id,
            first_name=first_name,
            username=username,
            chat_type=chat_type,
            chat_title=None,
        )
        payload = {
            "botToken": token,
            "from": user,
            "data": data,
            "message": {"message_id": message_id, "chat": chat},
        }
        result: dict[str, Any] = self._post("/sendCallback", payload)
        return result

    def send_sticker(
        self,
        token: str,
        chat_id: int,
        *,
        emoji: str = "👍",
        file_id: str = "sticker-file-id",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send a customer sticker (no text).

        Extra keyword arguments go to :meth:`send_raw_message`.

        Returns:
            The Update the bot will receive.
        """
        sticker = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self.send_raw_message(token, chat_id, {"sticker": sticker}, **kwargs)

    def send_photo(
        self,
        token: str,
        chat_id: int,
        *,
        caption: str | None = None,
        file_id: str = "photo-file-id",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send a customer photo (sizes only; the file itself cannot be downloaded).

        Extra keyword arguments go to :meth:`send_raw_message`.

        Returns:
            The Update the bot will receive.
        """
        sizes = [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"u-{file_id}-s",
                "width": 90,
                "height": 90,
            },
            {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 800, "height": 800},
        ]
        fields: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        return self.send_raw_message(token, chat_id, fields, **kwargs)

    def bot_messages(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """Read the bot's messages to a chat that were not read yet, and mark them read.

        Returns:
            The emulator's records, oldest first. Each has ``message`` (the parameters the bot
            sent: ``text``, ``chat_id`` as a string, ``reply_markup``, ``entities``...),
            ``messageId``, ``updateId``, ``botToken`` and ``time`` (ms).
        """
        result: list[dict[str, Any]] = self._post(
            "/getUpdates", {"token": token, "chatId": chat_id}
        )
        return result

    def wait_for_bot_messages(
        self, token: str, chat_id: int, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has sent at least ``count`` unread messages to a chat.

        Blocking: from async code use :meth:`await_bot_messages` so the bot keeps running.

        Returns:
            All the unread records collected (at least ``count``), now marked read.

        Raises:
            TimeoutError: Fewer than ``count`` arrived within ``timeout`` seconds.
        """
        collected: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            collected.extend(self.bot_messages(token, chat_id))
            if len(collected) >= count:
                return collected
            if time.monotonic() >= deadline:
                texts = [m.get("message", {}).get("text") for m in collected]
                raise TimeoutError(
                    f"the bot sent {len(collected)} of {count} messages to chat {chat_id} "
                    f"within {timeout}s: {texts}"
                )
            time.sleep(0.05)

    async def await_bot_messages(
        self, token: str, chat_id: int, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """:meth:`wait_for_bot_messages` in a worker thread, for async tests."""
        return await asyncio.to_thread(self.wait_for_bot_messages, token, chat_id, count, timeout)

    def history(self, token: str) -> list[dict[str, Any]]:
        """Every stored record of a bot (its messages and the customers'), oldest first."""
        result: list[dict[str, Any]] = self._post("/getUpdatesHistory", {"token": token})
        return result


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2
