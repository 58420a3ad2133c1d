"""The web chat in a real browser (Playwright driving Debian's chromium) on the real stack.

The Retry test needs no Rasa: the real gateway app serves the page and its socket in process,
on the test Redis.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import redis
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from bot.gateway import create_app
from relevo import keys
from relevo.settings import Settings
from tests.conftest import ROOT
from tests.e2e.conftest import Stack, say
from tests.emulators.slack_emulator import AsgiServer

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "docs" / "img"


# Records every change of the typing dots' `hidden` (they show on the ack, hide on `ends_turn`).
TYPING_WATCH = """() => {
  window.typingSeen = [];
  const dots = document.getElementById('rc-typing');
  new MutationObserver(() => window.typingSeen.push(dots.hidden))
    .observe(dots, {attributes: true, attributeFilter: ['hidden']});
}"""


def bot_messages(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="msg"][data-author="bot"]')


async def test_a_conversation_survives_a_reload_and_html_stays_text(
    stack: Stack, browser: Browser
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 800}, locale="es-ES")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(stack.base_url + "/")
    await page.evaluate(TYPING_WATCH)
    await say(page, "¿Puedo llevar a mi perro en cabina?")
    await expect(bot_messages(page)).to_have_count(2, timeout=60_000)
    await expect(bot_messages(page).first).to_contain_text("mascota")
    await expect(page.locator("#rc-typing")).to_be_hidden()
    shown_then_hidden = await page.evaluate("window.typingSeen")
    assert False in shown_then_hidden and shown_then_hidden[-1] is True  # the ack, ends_turn
    await expect(page.get_by_test_id("quick-reply")).to_have_count(2)
    conversation = await page.evaluate("window.RelevoChat.conversationId")

    await page.reload()  # in the middle of the conversation
    await expect(bot_messages(page)).to_have_count(2, timeout=20_000)
    assert await page.evaluate("window.RelevoChat.conversationId") == conversation
    await page.get_by_test_id("quick-reply").first.click()  # "Sí 👍"
    await expect(bot_messages(page)).to_have_count(3, timeout=60_000)
    customer = page.locator('[data-testid="msg"][data-author="customer"]')
    await expect(customer).to_have_count(2)
    await expect(customer.last).to_have_text("Sí 👍")

    injection = '<img src=x onerror="window.hacked=1"><b>bold</b>'
    await say(page, injection)
    await expect(customer.last).to_have_text(injection)
    await expect(bot_messages(page)).to_have_count(4, timeout=60_000)
    assert await page.locator('[data-testid="log"] img').count() == 0
    assert await page.locator('[data-testid="log"] b').count() == 0
    assert await page.evaluate("window.hacked") is None
    ids = await page.locator('[data-testid="msg"]').evaluate_all(
        "els => els.map(e => e.dataset.id)"
    )
    assert len(ids) == len(set(ids))  # nothing rendered twice
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(800)
    await page.screenshot(path=str(SCREENSHOTS / "webchat-phone.png"))
    assert errors == []
    await context.close()


async def test_offered_articles_are_buttons_and_a_tap_answers_with_the_article(
    stack: Stack, browser: Browser
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 800}, locale="es-ES")
    page = await context.new_page()
    await page.goto(stack.base_url + "/")
    await say(page, "me rechaza la tarjeta al pagar")
    offer = page.get_by_test_id("quick-reply")
    await expect(offer.last).to_contain_text("Ninguno", timeout=60_000)
    await expect(bot_messages(page).first).to_contain_text("alguno")
    article = offer.filter(has_text="Problemas con el pago")
    await expect(article).to_have_count(1)
    title = await article.inner_text()
    await page.wait_for_timeout(800)
    await page.screenshot(path=str(SCREENSHOTS / "webchat-offer.png"))
    await article.click()
    await expect(bot_messages(page)).to_have_count(3, timeout=60_000)
    await expect(bot_messages(page).nth(1)).to_contain_text("/payment-problems-es")
    customer = page.locator('[data-testid="msg"][data-author="customer"]')
    await expect(customer.last).to_have_text(title)  # the title, not the payload
    await context.close()


async def test_the_widget_opens_the_chat_from_one_script_tag(
    stack: Stack, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(stack.base_url + "/webchat/demo-embed.html")
    launcher = page.get_by_role("button", name="Chat with us")
    await launcher.click()
    chat = page.frame_locator("iframe")
    await chat.get_by_test_id("composer").fill("is there wifi on board?")
    await chat.get_by_test_id("send").click()
    answer = chat.locator('[data-testid="msg"][data-author="bot"]').first
    await expect(answer).to_contain_text("Wi-Fi", timeout=60_000)
    await page.wait_for_timeout(800)  # let the bubbles finish fading in
    await page.screenshot(path=str(SCREENSHOTS / "webchat-widget.png"))
    await page.close()


async def test_retry_sends_the_message_again_under_its_own_id_so_it_is_taken_once(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, browser: Browser
) -> None:
    """The gateway stored the message, but the page got "unavailable" instead of the ack (the
    answer was lost in a failover) and the log entry comes late: Retry must not make it a
    second message, which the assistant would answer again."""
    sent: list[str] = []  # the client_id of each message frame the page sent
    acks: list[dict[str, object]] = []
    late: list[str | bytes] = []  # the customer's log entry, held back until the page sends again

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "message":
                sent.append(frame["client_id"])
            server.send(message)
            if len(sent) == 2:
                while late:
                    ws.send(late.pop(0))

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "ack":
                acks.append(frame)
                if len(acks) == 1:  # stored, but the page hears otherwise
                    message = json.dumps(
                        {"type": "error", "client_id": frame["client_id"], "reason": "unavailable"}
                    )
            elif frame.get("type") == "message" and len(sent) < 2:
                late.append(message)
                return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    with AsgiServer(create_app(settings)) as gateway:
        page = await browser.new_page()
        await page.route_web_socket(re.compile(r"/channels/webchat/ws"), route)
        await page.goto(gateway.url + "/")
        await say(page, "¿dónde está mi maleta?")
        await page.get_by_test_id("retry").click()
        customer = page.locator('[data-testid="msg"][data-author="customer"]')
        await expect(customer).to_have_attribute("data-state", "sent")
        async with asyncio.timeout(10):
            while len(acks) < 2:
                await asyncio.sleep(0.05)
        conversation = await page.evaluate("window.RelevoChat.conversationId")
        [(entry_id, logged)] = redis_client.xrange(keys.conversation_log(conversation))
        await expect(customer).to_have_attribute("data-id", entry_id)  # the late entry found it
        await expect(customer).to_have_count(1)
        await page.close()
    assert sent[1] == sent[0] == logged["client_id"]
    assert acks[1]["duplicate"] is True
    assert redis_client.xlen(keys.INBOUND) == 1  # the assistant is asked once
