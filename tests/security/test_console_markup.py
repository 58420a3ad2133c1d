"""The agent console shows markup from customers and agents as text, in a real browser.

The web chat's case (a customer's `<img onerror>` stays text) is in
tests/e2e/test_webchat_browser.py; tests/e2e/test_console_browser.py works a whole handoff but
writes no markup. Here everything the console draws from outside is markup: the customer's
messages (in the queue's preview and the thread), the customer's name and handle, the
assistant's draft, the agent's own name and an internal note. None of it may become an element
or run. The gateway is the real app on the test Redis (see conftest.py), with the console's
desk worker listing the handoff; no Rasa is needed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from playwright.async_api import async_playwright, expect

from handoff.console import ConsoleDesk
from handoff.requests import HandoffRequest, Priority, Reason, TranscriptLine, request_handoff
from relevo import keys
from tests.security.conftest import CONSOLE_TOKEN, door_settings, serving

pytestmark = pytest.mark.slow  # a real browser

CHROMIUM = "/usr/bin/chromium"
MARKUP = '<img src=x onerror="window.hacked=1"><script>window.hacked=2</script><b>bold</b>'


async def test_the_console_shows_markup_as_text(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, aclient: aioredis.Redis
) -> None:
    conversation = "wc-markup-console"
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    redis_client.xadd(
        keys.conversation_log(conversation),
        {"type": "message", "author": "customer", "text": f"hola {MARKUP}", "time": now},
    )
    request = HandoffRequest(
        conversation_id=conversation,
        channel="webchat",
        language="es",
        reason=Reason.ASKED_FOR_PERSON,
        priority=Priority.NORMAL,
        transcript=[TranscriptLine("customer", f"hola {MARKUP}", now)],
        hits=[],
        draft=f"Borrador {MARKUP}",
        customer={"id": conversation, "name": f"Ana {MARKUP}", "handle": MARKUP},
    )
    assert request_handoff(redis_client, request)
    desk = ConsoleDesk(aclient)
    stop = asyncio.Event()
    worker = asyncio.create_task(desk.desk.run(stop))
    try:
        with serving(door_settings(tmp_path, redis_url)) as url:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = await browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                await page.goto(f"{url}/console")
                await page.get_by_test_id("login-name").fill(f"Laura {MARKUP}")
                await page.get_by_test_id("login-token").fill(CONSOLE_TOKEN)
                await page.get_by_test_id("login-submit").click()
                await expect(page.get_by_test_id("me")).to_contain_text(
                    "Laura <img src=x"
                )  # cut at 60
                item = page.get_by_test_id("queue-item")
                await expect(item).to_have_count(1, timeout=15_000)
                await expect(item).to_contain_text("<b>bold</b>")  # the preview, as typed
                await item.click()
                thread = page.get_by_test_id("thread")
                await expect(thread).to_contain_text("hola <img src=x")
                await page.get_by_test_id("composer").fill(f"nota {MARKUP}")  # unclaimed: a note
                await page.get_by_test_id("send").click()
                note = page.locator('[data-testid="thread-item"][data-kind="note"]')
                await expect(note).to_contain_text("nota <img src=x")
                await expect(page.get_by_test_id("handoff")).to_contain_text("Borrador <img")
                assert await page.locator("body img, body script, body b").count() == 0
                assert await page.evaluate("window.hacked") is None
                assert errors == []
                await browser.close()
    finally:
        stop.set()
        await worker
