"""The REST client of Rasa against real local HTTP servers: answers, and how each failure is told.

`ambiguous` decides whether the assistant worker may resend a message (no: Rasa may have seen it,
the tracker store must tell) or simply retries it later (yes: Rasa cannot have seen it).
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bot.rasa_client import RasaClient
from relevo.errors import RasaUnavailableError
from tests.bot.conftest import Serve, free_port


async def failure_of(url: str, timeout: float = 5) -> RasaUnavailableError:
    """The error of one turn sent to `url` (the test fails if the turn succeeds)."""
    client = RasaClient(url=url, timeout=timeout)
    try:
        with pytest.raises(RasaUnavailableError) as raised:
            await client.send("c1", "hola", {})
    finally:
        await client.close()
    return raised.value


async def test_a_turn_returns_the_replies_and_sends_sender_text_and_metadata(serve: Serve) -> None:
    received: list[dict[str, object]] = []

    async def webhook(request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.Response(text="Hello from Rasa: 3.6.21")
        received.append({"path": request.path, **await request.json()})
        return web.json_response(
            [
                {"recipient_id": "c1", "text": "Sí, hay wifi 📶"},
                {
                    "recipient_id": "c1",
                    "text": "¿Te ha servido?",
                    "buttons": [{"title": "Sí", "payload": "/affirm"}],
                },
                {"recipient_id": "c1", "custom": {"relevo": {"decision": "answer"}}},
            ]
        )

    client = RasaClient(url=await serve(webhook) + "/", timeout=5)
    try:
        replies = await client.send("c1", "¿hay wifi?", {"channel": "webchat", "public": False})
        assert await client.healthy()
    finally:
        await client.close()
    assert received[0] == {
        "path": "/webhooks/rest/webhook",
        "sender": "c1",
        "message": "¿hay wifi?",
        "metadata": {"channel": "webchat", "public": False},
    }
    assert [r.text for r in replies] == ["Sí, hay wifi 📶", "¿Te ha servido?", None]
    assert replies[1].buttons == [{"title": "Sí", "payload": "/affirm"}]
    assert replies[2].custom == {"relevo": {"decision": "answer"}}


async def test_nothing_listening_is_a_clean_retry() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    error = await failure_of(url)
    assert error.ambiguous is False
    assert "not reachable" in str(error)
    client = RasaClient(url=url, timeout=5)
    try:
        assert not await client.healthy()
    finally:
        await client.close()


@pytest.mark.parametrize(("status", "ambiguous"), [(500, True), (503, True), (400, False)])
async def test_an_error_status_says_whether_rasa_may_have_seen_the_message(
    serve: Serve,
    status: int,
    ambiguous: bool,
) -> None:
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=status, text="no")

    error = await failure_of(await serve(failing), timeout=5)
    assert error.ambiguous is ambiguous
    assert f"HTTP {status}" in str(error)


async def test_a_turn_that_outlasts_the_timeout_is_ambiguous(serve: Serve) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response([])

    error = await failure_of(await serve(slow), timeout=0.3)
    assert error.ambiguous is True


@pytest.mark.parametrize("body", [b"[{not json", b""])
async def test_an_unreadable_answer_is_ambiguous_not_a_crash(serve: Serve, body: bytes) -> None:
    async def garbled(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    error = await failure_of(await serve(garbled), timeout=5)
    assert error.ambiguous is True


async def test_a_connection_dropped_mid_answer_is_ambiguous(serve: Serve) -> None:
    async def dropping(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'[{"text": "half')
        assert request.transport is not None
        request.transport.close()
        return response

    error = await failure_of(await serve(dropping), timeout=5)
    assert error.ambiguous is True


async def test_a_text_message_is_handed_to_the_action_server_to_prepare(serve: Serve) -> None:
    prepared: list[object] = []

    async def webhook(request: web.Request) -> web.Response:
        return web.json_response([{"recipient_id": "c1", "text": "ok"}])

    async def prepare(request: web.Request) -> web.Response:
        prepared.append(await request.json())
        return web.Response(status=204)

    client = RasaClient(
        url=await serve(webhook), timeout=5, prepare_url=await serve(prepare) + "/relevo/prepare"
    )
    try:
        await client.send("c1", "¿hay wifi?", {})
        await client.send("c1", "/affirm", {})  # a button's intent never reaches the search
        await client.send("c1", "   ", {})
        for _ in range(50):
            if prepared:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # time for any other (wrong) call to arrive
    finally:
        await client.close()
    assert prepared == [{"text": "¿hay wifi?"}]


@pytest.mark.parametrize("prepare_fails", ["nothing listens", "HTTP 500"])
async def test_a_failing_prepare_call_changes_nothing_in_the_turn_and_warns_once(
    serve: Serve, caplog: pytest.LogCaptureFixture, prepare_fails: str
) -> None:
    async def webhook(request: web.Request) -> web.Response:
        return web.json_response([{"recipient_id": "c1", "text": "ok"}])

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    prepare_url = (
        f"http://127.0.0.1:{free_port()}/relevo/prepare"
        if prepare_fails == "nothing listens"
        else await serve(broken) + "/relevo/prepare"
    )
    client = RasaClient(url=await serve(webhook), timeout=5, prepare_url=prepare_url)
    try:
        for _ in range(3):
            replies = await client.send("c1", "¿hay wifi?", {})
            assert [r.text for r in replies] == ["ok"]
            await asyncio.sleep(0.1)  # the prepare call ends
    finally:
        await client.close()
    warnings = [r for r in caplog.records if "did not take a message to prepare" in r.message]
    assert len(warnings) == 1
