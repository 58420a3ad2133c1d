"""The web chat in a real browser (Playwright driving Debian's chromium) on the real stack.

The tests of the connection and the widget's focus need no Rasa: the real gateway app serves the
page and its socket in process, on the test Redis (`gateway`).
"""

from __future__ import annotations

import asyncio
import http.server
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.async_api import Browser, FrameLocator, Locator, Page, WebSocketRoute, expect

from bot.gateway import create_app
from bot.log_entries import outgoing_log_fields
from relevo import keys
from relevo.messages import Outgoing
from relevo.settings import Settings
from tests.conftest import ROOT
from tests.e2e.conftest import Stack, say
from tests.emulators.slack_emulator import AsgiServer

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "docs" / "img"
CHAT_SOCKET = re.compile(r"/channels/webchat/ws")


# Records every value an element's attribute is given (`hidden` as true or false), by element id.
WATCH = """([id, attribute]) => {
  window.seen = window.seen || {};
  const node = document.getElementById(id);
  const seen = (window.seen[id] = []);
  new MutationObserver(() => seen.push(
    attribute === 'hidden' ? node.hidden : node.getAttribute(attribute),
  )).observe(node, {attributes: true, attributeFilter: [attribute]});
}"""


async def watch(page: Page, element_id: str, attribute: str) -> None:
    """Record the values the attribute takes from now on (read them with `seen`)."""
    await page.evaluate(WATCH, [element_id, attribute])


async def seen(page: Page, element_id: str) -> list[Any]:
    """The values recorded by `watch`, oldest first."""
    return await page.evaluate("id => window.seen[id]", element_id)


def bot_messages(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="msg"][data-author="bot"]')


def customer_messages(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="msg"][data-author="customer"]')


@pytest.fixture
def gateway(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> Iterator[AsgiServer]:
    """The gateway app in process on the flushed test Redis: the page and its socket, no Rasa."""
    settings = Settings(data_dir=tmp_path / "data", redis_url=redis_url)
    with AsgiServer(create_app(settings)) as server:
        yield server


ToPage = Callable[[WebSocketRoute, int, str | bytes], None]


def relay(
    sent: list[str], to_page: ToPage, after_page: Callable[[WebSocketRoute], None] | None = None
) -> Callable[[WebSocketRoute], None]:
    """A route between the page and the gateway's socket (`page.route_web_socket`).

    Every frame of the page goes on (the client_id of each message is added to `sent`), then
    `after_page` runs; each frame of the server goes to `to_page(ws, socket number, frame)`,
    which decides what the page gets.
    """
    numbers = itertools.count()

    def route(ws: WebSocketRoute) -> None:
        number = next(numbers)
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "message":
                sent.append(frame["client_id"])
            server.send(message)
            if after_page:
                after_page(ws)

        ws.on_message(from_page)
        server.on_message(lambda message: to_page(ws, number, message))

    return route


async def open_widget(browser: Browser, base_url: str) -> tuple[Page, Locator, FrameLocator]:
    """The demo site on a desktop with the widget opened: the page, the launcher, the chat."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(base_url + "/webchat/demo-embed.html")
    launcher = page.get_by_role("button", name="Chat with us")
    await launcher.click()
    return page, launcher, page.frame_locator("iframe")


def logged_customer_messages(client: redis.Redis, conversation: str) -> list[dict[str, str]]:
    """The customer's messages in the conversation's log."""
    entries = client.xrange(keys.conversation_log(conversation))
    return [fields for _, fields in entries if fields.get("author") == "customer"]


async def test_a_conversation_survives_a_reload_and_html_stays_text(
    stack: Stack, browser: Browser
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 800}, locale="es-ES")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(stack.base_url + "/")
    await watch(page, "rc-typing", "hidden")
    await say(page, "¿Puedo llevar a mi perro en cabina?")
    await expect(bot_messages(page)).to_have_count(2, timeout=60_000)
    await expect(bot_messages(page).first).to_contain_text("mascota")
    await expect(page.locator("#rc-typing")).to_be_hidden()
    shown_then_hidden = await seen(page, "rc-typing")
    assert False in shown_then_hidden and shown_then_hidden[-1] is True  # the ack, ends_turn
    await expect(page.get_by_test_id("quick-reply")).to_have_count(2)
    conversation = await page.evaluate("window.RelevoChat.conversationId")

    await page.reload()  # in the middle of the conversation
    await expect(bot_messages(page)).to_have_count(2, timeout=20_000)
    assert await page.evaluate("window.RelevoChat.conversationId") == conversation
    await page.get_by_test_id("quick-reply").first.click()  # "Sí 👍"
    await expect(bot_messages(page)).to_have_count(3, timeout=60_000)
    customer = customer_messages(page)
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
    await say(page, "no me deja pagar con la tarjeta")
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
    customer = customer_messages(page)
    await expect(customer.last).to_have_text(title)  # the title, not the payload
    await context.close()


async def test_after_hold_on_did_this_help_can_still_be_tapped_even_after_a_reload(
    stack: Stack, browser: Browser
) -> None:
    """The page disabled the buttons once the customer wrote: "hold on" left "Yes" untappable."""
    context = await browser.new_context(viewport={"width": 390, "height": 800}, locale="en-GB")
    page = await context.new_page()
    await page.goto(stack.base_url + "/")
    await say(page, "Can I bring my dog in the cabin?")
    yes = page.get_by_test_id("quick-reply").filter(has_text="Yes")
    await expect(yes).to_be_enabled(timeout=60_000)
    await say(page, "hold on")
    await expect(bot_messages(page).last).to_contain_text("No rush", timeout=60_000)
    await page.reload()
    await expect(bot_messages(page).last).to_contain_text("No rush", timeout=20_000)
    await expect(yes).to_be_enabled()
    await yes.click()
    await expect(bot_messages(page).last).to_contain_text("glad", timeout=60_000)
    await expect(yes).to_be_disabled()  # answered now
    await say(page, "thanks")
    await expect(customer_messages(page)).to_have_count(4)
    await expect(yes).to_be_disabled()
    await context.close()


async def test_back_to_the_assistant_stays_tappable_while_the_handoff_waits(
    stack: Stack, browser: Browser
) -> None:
    """QA s24 C1: a message for the team meanwhile disabled the only way back, for good."""
    context = await browser.new_context(viewport={"width": 390, "height": 800}, locale="es-ES")
    page = await context.new_page()
    await page.goto(stack.base_url + "/")
    await say(page, "quiero hablar con una persona")
    back = page.get_by_test_id("quick-reply").filter(has_text="Volver al asistente")
    await expect(back).to_be_enabled(timeout=60_000)
    await say(page, "es sobre mi equipaje, llegó roto")
    await expect(customer_messages(page)).to_have_count(2)
    await page.reload()
    await expect(back).to_be_enabled(timeout=20_000)
    await back.click()
    await expect(page.get_by_test_id("event").last).to_contain_text("asistente", timeout=60_000)
    await expect(back).to_be_disabled()  # the wait is over: the assistant is back
    await context.close()


async def test_the_widget_opens_the_chat_from_one_script_tag(
    stack: Stack, browser: Browser
) -> None:
    page, _, chat = await open_widget(browser, stack.base_url)
    await chat.get_by_test_id("composer").fill("is there wifi on board?")
    await chat.get_by_test_id("send").click()
    answer = chat.locator('[data-testid="msg"][data-author="bot"]').first
    await expect(answer).to_contain_text("Wi-Fi", timeout=60_000)
    await page.wait_for_timeout(800)  # let the bubbles finish fading in
    await page.screenshot(path=str(SCREENSHOTS / "webchat-widget.png"))
    await page.close()


async def test_retry_sends_the_message_again_under_its_own_id_so_it_is_taken_once(
    gateway: AsgiServer, redis_client: redis.Redis, browser: Browser
) -> None:
    """The gateway stored the message, but the page got "unavailable" instead of the ack (the
    answer was lost in a failover) and the log entry comes late: Retry must not make it a
    second message, which the assistant would answer again."""
    sent: list[str] = []  # the client_id of each message frame the page sent
    acks: list[dict[str, object]] = []
    late: list[str | bytes] = []  # the customer's log entry, held back until the page sends again

    def after_page(ws: WebSocketRoute) -> None:
        if len(sent) == 2:
            while late:
                ws.send(late.pop(0))

    def to_page(ws: WebSocketRoute, number: int, message: str | bytes) -> None:
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

    page = await browser.new_page()
    await page.route_web_socket(CHAT_SOCKET, relay(sent, to_page, after_page))
    await page.goto(gateway.url + "/")
    await say(page, "¿dónde está mi maleta?")
    await page.get_by_test_id("retry").click()
    customer = customer_messages(page)
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


async def test_the_page_speaks_the_conversations_language_and_its_status_fits_a_phone(
    stack: Stack, browser: Browser
) -> None:
    """An English browser, a conversation that moves to Spanish: the page's own texts follow
    the conversation, those already drawn included, and stay so after a reload."""
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = await context.new_page()
    await page.goto(stack.base_url + "/")
    composer = page.get_by_test_id("composer")
    status = page.locator("#rc-status-text")
    queued = page.locator('[data-testid="event"][data-event="queued"]')
    await say(page, "I want to speak to a person, please")
    await expect(queued).to_have_text("Waiting for a person…", timeout=60_000)
    await expect(composer).to_have_attribute("placeholder", "Write a message…")

    async def in_spanish() -> None:
        await expect(queued).to_have_text("Esperando a una persona…")
        await expect(status).to_have_text("Esperando a una persona…")
        await expect(composer).to_have_attribute("placeholder", "Escribe un mensaje…")
        await expect(page.locator(".rc-row--customer .rc-state").first).to_have_attribute(
            "aria-label", "Enviado"
        )
        assert await page.evaluate("document.documentElement.lang") == "es"
        assert await status.evaluate("e => e.scrollWidth <= e.clientWidth")  # whole, not cut

    await say(page, "perdona, ¿me puedes atender en español?")  # relayed to the desk
    await in_spanish()
    await page.reload()
    await in_spanish()
    await context.close()


async def test_the_page_shows_it_is_offline_and_sends_what_was_typed_meanwhile_once(
    gateway: AsgiServer, redis_client: redis.Redis, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(gateway.url + "/")
    status = page.get_by_test_id("status")
    await expect(status).to_have_attribute("data-state", "bot")

    await context.set_offline(True)
    await expect(status).to_have_attribute("data-state", "offline", timeout=3_000)
    await expect(status).to_have_text("Offline")
    await expect(page.get_by_test_id("banner")).to_have_text("Reconnecting…")
    await say(page, "are you still there?")
    await page.wait_for_timeout(1_000)
    await expect(customer_messages(page)).to_have_attribute("data-state", "pending")

    await context.set_offline(False)
    await expect(customer_messages(page)).to_have_attribute("data-state", "sent")
    await expect(status).to_have_attribute("data-state", "bot")
    await expect(page.get_by_test_id("banner")).to_be_hidden()
    conversation = await page.evaluate("window.RelevoChat.conversationId")
    assert len(logged_customer_messages(redis_client, conversation)) == 1
    await context.close()


async def test_a_socket_that_stops_answering_is_replaced_and_the_message_taken_once(
    gateway: AsgiServer, redis_client: redis.Redis, browser: Browser
) -> None:
    """A half-open socket (a phone changing networks): the page's frames reach the server, the
    server's never come back. The page must notice, connect again and resend; the server
    has the message already and takes it once."""
    sent: list[str] = []  # the client_id of each message frame the page sent
    deaf: set[int] = set()  # the sockets whose server frames are lost

    def to_page(ws: WebSocketRoute, number: int, message: str | bytes) -> None:
        if number not in deaf:
            ws.send(message)

    page = await browser.new_page()
    await page.route_web_socket(CHAT_SOCKET, relay(sent, to_page))
    await page.goto(gateway.url + "/")
    status = page.get_by_test_id("status")
    await expect(status).to_have_attribute("data-state", "bot")
    await watch(page, "rc-status", "data-state")
    deaf.add(0)
    await say(page, "is my flight on time?")
    await expect(customer_messages(page)).to_have_attribute("data-state", "sent", timeout=15_000)
    assert "offline" in await seen(page, "rc-status")
    assert len(sent) == 2 and sent[0] == sent[1]  # once on the deaf socket, once on the new one
    conversation = await page.evaluate("window.RelevoChat.conversationId")
    [logged] = logged_customer_messages(redis_client, conversation)
    assert logged["client_id"] == sent[0]
    await expect(customer_messages(page)).to_have_count(1)
    await page.close()


async def test_escape_closes_the_widget_and_gives_the_focus_back_to_the_launcher(
    gateway: AsgiServer, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    # A shop on its own origin embeds the widget with its one script tag.
    tag = f'<!doctype html><title>Shop</title><script src="{gateway.url}/webchat/widget.js" async>'
    shop = _serve(f"{tag}</script>".encode())
    await page.goto(f"http://127.0.0.1:{shop.server_address[1]}/")
    launcher = page.get_by_role("button", name="Chat with us")
    await launcher.click()
    chat = page.frame_locator("iframe")
    composer = chat.get_by_test_id("composer")
    await expect(composer).to_be_focused()  # on a site of another origin too
    assert errors == []  # no error from the widget on the shop's page
    await composer.fill("hello")
    await composer.press("Escape")
    await expect(page.locator("iframe")).to_be_hidden()
    await expect(launcher).to_be_focused()
    await page.close()
    shop.shutdown()


def _serve(page: bytes) -> http.server.HTTPServer:
    """A site of its own (another origin than the gateway's) that serves one page."""

    class Site(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: object) -> None:
            """Quiet."""

    server = http.server.HTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def test_the_full_page_puts_the_cursor_in_the_message_box_on_a_desktop(
    gateway: AsgiServer, browser: Browser
) -> None:
    """QA s22 W9: the first keystrokes went nowhere; a phone's keyboard would hide the chat."""
    desktop = await browser.new_page(viewport={"width": 1280, "height": 800})
    await desktop.goto(gateway.url + "/")
    await expect(desktop.get_by_test_id("composer")).to_be_focused()
    await desktop.keyboard.type("hola")
    await expect(desktop.get_by_test_id("composer")).to_have_value("hola")
    phone = await browser.new_page(viewport={"width": 390, "height": 800})
    await phone.goto(gateway.url + "/")
    await expect(phone.get_by_test_id("composer")).not_to_be_focused()
    await desktop.close()
    await phone.close()


async def test_a_light_brand_colour_is_darkened_where_it_is_text(
    gateway: AsgiServer, browser: Browser
) -> None:
    """QA s22 W4: a site's yellow (#ffcc00) made links and quick replies unreadable (1.5:1)."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(gateway.url + "/?embed=1&color=%23ffcc00")
    await expect(page.get_by_test_id("composer")).to_be_visible()
    ink = await page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--rc-accent-ink').trim()"
    )
    channels = [int(ink[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    assert 1.05 / (luminance + 0.05) >= 4.5, ink  # WCAG AA against white
    assert ink.lower() != "#ffcc00"
    await page.close()


async def test_a_reply_that_takes_long_says_so_beside_the_typing_dots(
    gateway: AsgiServer, browser: Browser
) -> None:
    """QA s22 W8: while Rasa was stalled, 18 s of dots alone read as a broken chat."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(gateway.url + "/")
    await say(page, "is there wifi on board?")  # no Rasa behind this gateway: no reply comes
    await expect(page.get_by_test_id("typing")).to_be_visible()
    slow = page.get_by_test_id("typing-slow")
    await expect(slow).to_be_hidden()
    await expect(slow).to_have_text("Sorry, this is taking longer than usual…", timeout=15_000)
    await expect(slow).to_be_visible()
    await page.close()


def _reply(client: redis.Redis, conversation: str, answered: dict[str, str], text: str) -> None:
    """The assistant's reply to one logged customer message, as a turn appends it to the log."""
    out = Outgoing(f"{answered['message_id']}:0", conversation, "bot", text, ends_turn=True)
    client.xadd(keys.conversation_log(conversation), outgoing_log_fields(out))


async def test_a_late_reply_to_an_earlier_message_quotes_it(
    gateway: AsgiServer, redis_client: redis.Redis, browser: Browser
) -> None:
    """QA s22 W11: the slow answer to a first question sat under a second message, unquoted."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(gateway.url + "/")
    await say(page, "can I bring my dog on board?")
    await say(page, "hello? is this thing working?")
    conversation = await page.evaluate("window.RelevoChat.conversationId")
    await expect(customer_messages(page).nth(1)).to_have_attribute("data-state", "sent")
    first, second = logged_customer_messages(redis_client, conversation)
    _reply(redis_client, conversation, first, "Small pets travel in the cabin.")
    _reply(redis_client, conversation, second, "Yes, I'm here!")
    replies = bot_messages(page)
    await expect(replies).to_have_count(2)
    quote = replies.nth(0).get_by_test_id("quote")
    await expect(quote).to_have_text("In reply to:can I bring my dog on board?")
    await expect(replies.nth(1).get_by_test_id("quote")).to_have_count(0)  # the last one asked
    await page.reload()
    await expect(bot_messages(page)).to_have_count(2)
    await expect(bot_messages(page).nth(0).get_by_test_id("quote")).to_have_count(1)
    await expect(bot_messages(page).nth(1).get_by_test_id("quote")).to_have_count(0)
    await page.close()
