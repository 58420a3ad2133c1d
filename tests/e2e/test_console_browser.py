"""The web agent console in a real browser, with a customer in the web chat in another page.

The gateway runs in console mode (no Slack settings) on a Redis database of its own, with an
engine of its own: the action server queues handoffs in its own Redis, so sharing the session
engine would hand this gateway's handoffs to the Slack desk of the session's gateway.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
from playwright.async_api import Browser, Locator, Page, expect

from bot.signing import signed_headers
from relevo import keys
from relevo.health import wait_until_healthy
from tests.conftest import BIN, ROOT, free_port
from tests.e2e.conftest import Engine, running_engine, say
from tests.e2e.test_channels import mention
from tests.e2e.webchat_client import WebchatCustomer

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "docs" / "img"
TOKEN = "console-e2e-token"
SOCIAL_SECRET = "console-e2e-social"
WAIT = 60_000


@dataclass
class ConsoleGateway:
    engine: Engine
    base_url: str


@pytest.fixture(scope="module")
def console_gateway(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleGateway]:
    url = redis_url.rsplit("/", 1)[0] + "/3"
    redis.Redis.from_url(url).flushdb()
    with running_engine(url, tmp_path_factory.mktemp("console-engine")) as engine:
        port = free_port()
        env = {k: v for k, v in engine.env.items() if not k.startswith("RELEVO_SLACK_")}
        env.update(
            RELEVO_PORT=str(port),
            RELEVO_PUBLIC_URL=f"http://127.0.0.1:{port}",
            RELEVO_RASA_URL=engine.rasa_url,
            RELEVO_CONSOLE_TOKEN=TOKEN,
            RELEVO_SOCIAL_SECRET=SOCIAL_SECRET,
            RELEVO_OUTBOX_BACKOFF_SECONDS="0.1",
        )
        gateway = subprocess.Popen([str(BIN / "relevo"), "serve"], env=env, cwd=ROOT)
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}/healthz", gateway, 120)
            yield ConsoleGateway(engine, f"http://127.0.0.1:{port}")
        finally:
            gateway.terminate()
            gateway.wait(30)


def messages(page: Page, author: str) -> Locator:
    return page.locator(f'[data-testid="msg"][data-author="{author}"]')


def thread(console: Page, kind: str) -> Locator:
    return console.locator(f'[data-testid="thread-item"][data-kind="{kind}"]')


async def log_in(console: Page, name: str) -> None:
    """Log in from the form shown, with the right token."""
    await console.get_by_test_id("login-name").fill(name)
    await console.get_by_test_id("login-token").fill(TOKEN)
    await console.get_by_test_id("login-submit").click()
    await expect(console.get_by_test_id("me")).to_have_text(name)


async def test_an_agent_works_a_handoff_from_the_console(
    console_gateway: ConsoleGateway, browser: Browser
) -> None:
    base = console_gateway.base_url
    errors: list[str] = []
    customer_context = await browser.new_context(
        viewport={"width": 420, "height": 820}, locale="es-ES"
    )
    customer = await customer_context.new_page()
    agent_context = await browser.new_context(viewport={"width": 1440, "height": 900})
    console = await agent_context.new_page()
    for page in (customer, console):
        page.on("pageerror", lambda error: errors.append(str(error)))

    # The agent logs in (a wrong token first) and waits with an empty queue.
    await console.goto(base + "/console")
    await console.get_by_test_id("login-name").fill("Laura")
    await console.get_by_test_id("login-token").fill("not the token")
    await console.get_by_test_id("login-submit").click()
    await expect(console.get_by_test_id("login-error")).to_contain_text("token")
    await log_in(console, "Laura")
    await expect(console.get_by_test_id("live-status")).to_have_attribute("data-state", "live")

    # A customer asks for a person: the handoff appears in the queue by itself.
    await customer.goto(base + "/")
    conversation = await customer.evaluate("window.RelevoChat.conversationId")
    await say(customer, "quiero hablar con una persona")
    await expect(messages(customer, "bot").first).to_contain_text("persona", timeout=WAIT)
    item = console.locator(f'[data-testid="queue-item"][data-conversation="{conversation}"]')
    await expect(item).to_have_count(1, timeout=WAIT)
    await expect(item).to_have_attribute("data-state", "queued")
    priority = await item.get_attribute("data-priority")
    await expect(item.get_by_test_id("priority-badge")).to_have_attribute("data-priority", priority)
    await expect(item.get_by_test_id("sla-badge")).to_have_attribute("data-sla", "on_time")
    await item.click()
    await expect(thread(console, "message").first).to_contain_text("quiero hablar")
    badges = console.locator("#cc-badges")
    await expect(badges.get_by_test_id("priority-badge")).to_contain_text(priority.capitalize())
    await expect(badges.get_by_test_id("sla-badge")).to_contain_text("On time")

    # Claim: the customer sees that Laura joined; her reply arrives under her name.
    await console.get_by_test_id("claim").click()
    await expect(console.get_by_test_id("handoff-state")).to_have_text("With you")
    joined = customer.locator('[data-testid="event"][data-event="agent_joined"]')
    await expect(joined).to_contain_text("Laura", timeout=WAIT)
    await say(console, "Hola, soy Laura. ¿En qué te ayudo?")
    await expect(messages(customer, "agent")).to_have_text(
        ["Hola, soy Laura. ¿En qué te ayudo?"], timeout=WAIT
    )
    await expect(customer.locator(".rc-row--agent .rc-name-who")).to_have_text("Laura")
    delivery = thread(console, "reply").get_by_test_id("delivery")
    await expect(delivery).to_have_attribute("data-state", "ok", timeout=WAIT)
    await expect(badges.get_by_test_id("sla-badge")).to_have_attribute("data-sla", "met")
    await expect(console.get_by_test_id("invite")).to_be_hidden()  # a private chat

    # The customer's next message reaches the console live; an internal note stays there.
    await say(customer, "tengo una duda con mi maleta")
    await expect(
        thread(console, "message").filter(has_text="tengo una duda con mi maleta")
    ).to_have_count(1, timeout=WAIT)
    await console.get_by_test_id("note-toggle").check(force=True)
    await say(console, "cliente VIP, revisar equipaje")
    await expect(thread(console, "note")).to_contain_text("Internal")
    await expect(thread(console, "note")).to_contain_text("cliente VIP")
    await console.get_by_test_id("note-toggle").uncheck(force=True)
    await say(console, "Claro, dime qué le pasa a tu maleta.")
    await expect(messages(customer, "agent")).to_have_count(2, timeout=WAIT)
    await expect(delivery).to_have_count(2)
    await expect(customer.get_by_text("VIP")).to_have_count(0)

    # "Nota: ..." with the switch off: asked first; dismissed, nothing goes; confirmed, it goes.
    asked_note: list[str] = []
    console.once("dialog", lambda dialog: asked_note.append(dialog.message) or dialog.dismiss())
    await say(console, "Nota: tu reclamación ya está registrada.")
    await expect(console.get_by_test_id("composer-error")).to_contain_text("internal note")
    assert asked_note and asked_note[0].endswith("Send it to the customer?")
    await expect(messages(customer, "agent")).to_have_count(2)
    console.once("dialog", lambda dialog: dialog.accept())
    await console.get_by_test_id("send").click()
    await expect(messages(customer, "agent")).to_have_count(3, timeout=WAIT)
    await expect(messages(customer, "agent").last).to_have_text(
        "Nota: tu reclamación ya está registrada."
    )

    # A card number reaches the console redacted; Reveal (confirmed) shows it, to Laura only.
    await say(customer, "me cobrasteis dos veces en la tarjeta 4242 4242 4242 4242")
    await expect(
        thread(console, "message").filter(has_text="tarjeta [card ••••4242]")
    ).to_have_count(1, timeout=WAIT)
    await expect(console.get_by_test_id("thread")).not_to_contain_text("4242 4242")
    asked: list[str] = []
    console.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    await console.get_by_test_id("reveal").click()
    revealed = console.get_by_test_id("revealed")
    await expect(revealed).to_contain_text("Revealed for you only — this reveal is logged")
    await expect(revealed).to_contain_text("en la tarjeta 4242 4242 4242 4242")
    assert "logged" in asked[0]
    await console.get_by_test_id("revealed-hide").click()
    await expect(revealed).to_be_hidden()

    # The customer's history: this conversation, the first one of this visitor.
    await console.get_by_test_id("history-open").click()
    past = console.get_by_test_id("history-panel").get_by_test_id("history-item")
    await expect(past).to_have_count(1)
    await expect(past).to_have_attribute("data-conversation", conversation)
    await expect(past).to_contain_text("This conversation")
    await expect(past.get_by_test_id("history-handoff")).to_contain_text("with Laura")
    await console.get_by_test_id("history-close").click()
    await expect(console.get_by_test_id("history-panel")).to_be_hidden()

    # A complaint from someone else goes to the top of the queue, in red.
    ws_url = base.replace("http://", "ws://") + "/channels/webchat/ws"
    async with WebchatCustomer(ws_url, lang="es") as angry:
        await angry.say("esto es una vergüenza, llevo 3 horas esperando y nadie me dice nada!!!")
        first = console.get_by_test_id("queue-item").first
        await expect(first).to_have_attribute("data-conversation", angry.conversation, timeout=WAIT)
    await expect(first).to_have_attribute("data-priority", "high")
    await expect(console.get_by_test_id("open-count")).to_have_text("2")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await console.wait_for_timeout(500)
    await console.screenshot(path=str(SCREENSHOTS / "console.png"))

    # The same console on a phone: the queue, then the conversation, and back.
    phone = await browser.new_context(viewport={"width": 390, "height": 800})
    await phone.add_cookies(await agent_context.cookies())
    mobile = await phone.new_page()
    mobile.on("pageerror", lambda error: errors.append(str(error)))
    await mobile.goto(base + "/console")
    await mobile.locator(f'[data-testid="queue-item"][data-conversation="{conversation}"]').click()
    await expect(thread(mobile, "note")).to_contain_text("cliente VIP")
    await expect(mobile.get_by_test_id("queue")).to_be_hidden()
    await mobile.wait_for_timeout(300)
    await mobile.screenshot(path=str(SCREENSHOTS / "console-phone.png"))
    await mobile.get_by_role("button", name="Back to the queue").click()
    await expect(mobile.get_by_test_id("queue")).to_be_visible()
    await phone.close()

    # Return to the bot: it answers the customer again.
    await console.get_by_test_id("return").click()
    await expect(console.get_by_test_id("handoff-state")).to_have_text("Back with the bot")
    await expect(customer.locator('[data-testid="event"][data-event="bot_back"]')).to_have_count(
        1, timeout=WAIT
    )
    answered = await messages(customer, "bot").count()
    await say(customer, "¿hay wifi a bordo?")
    await expect(messages(customer, "bot")).to_have_count(answered + 2, timeout=WAIT)
    await expect(messages(customer, "bot").nth(answered)).to_contain_text("Wi-Fi")
    await expect(thread(console, "message").filter(has_text="¿hay wifi a bordo?")).to_have_count(
        1, timeout=WAIT
    )  # the open conversation is followed after the return

    # A second handoff, resolved: the customer is asked for a rating and gives one.
    await say(customer, "quiero hablar con una persona")
    second = item.and_(console.locator('[data-state="queued"]'))
    await expect(second).to_have_count(1, timeout=WAIT)
    await second.click()
    await console.get_by_test_id("claim").click()
    await expect(console.get_by_test_id("handoff-state")).to_have_text("With you")
    await console.get_by_test_id("resolve").click()
    await expect(console.get_by_test_id("handoff-state")).to_have_text("Resolved")
    rating = messages(customer, "bot").filter(has_text="de 1 (mala) a 5 (excelente)")
    await expect(rating).to_have_count(1, timeout=WAIT)
    await customer.get_by_test_id("quick-reply").filter(has_text="5").click()
    await expect(messages(customer, "bot").last).to_contain_text("Gracias", timeout=WAIT)
    await expect(console.get_by_test_id("handoff-state")).to_have_text(
        "Resolved · 5/5", timeout=WAIT
    )

    assert errors == []
    for context in (customer_context, agent_context):
        await context.close()


async def test_the_console_writes_dates_in_english_in_the_agents_time_zone(
    console_gateway: ConsoleGateway, browser: Browser
) -> None:
    """A Spanish browser in New Zealand: English dates ("28 Nov 2026"), New Zealand's clock."""
    zone = "Pacific/Auckland"
    context = await browser.new_context(locale="es-ES", timezone_id=zone)
    console = await context.new_page()
    await console.goto(console_gateway.base_url + "/console")
    await log_in(console, "Marta")
    ws_url = console_gateway.base_url.replace("http://", "ws://") + "/channels/webchat/ws"
    async with WebchatCustomer(ws_url, lang="es") as customer:
        await customer.say("quiero hablar con una persona")
        item = console.locator(
            f'[data-testid="queue-item"][data-conversation="{customer.conversation}"]'
        )
        await expect(item).to_have_count(1, timeout=WAIT)
    since = await item.locator(".cc-item-wait").get_attribute("title")
    now = dt.datetime.now(ZoneInfo(zone))
    minutes = {f"{now - dt.timedelta(minutes=m):%H:%M}" for m in range(3)}
    month = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    found = re.fullmatch(rf"Since \d{{1,2}} {month} \d{{4}}, (\d{{2}}:\d{{2}})", since or "")
    assert found and found[1] in minutes, since
    await context.close()


async def test_each_desk_alert_is_tagged_and_a_reopening_restarts_the_wait(
    console_gateway: ConsoleGateway, browser: Browser
) -> None:
    """QA s24 A3: a poor rating, a reopening and a take-over were all tagged "SLA alert"."""
    client = redis.Redis.from_url(console_gateway.engine.env["REDIS_URL"], decode_responses=True)
    console = await browser.new_page()
    await console.goto(console_gateway.base_url + "/console")
    await log_in(console, "Marta")
    ws_url = console_gateway.base_url.replace("http://", "ws://") + "/channels/webchat/ws"
    async with WebchatCustomer(ws_url, lang="en") as customer:
        await customer.say("agent please")
        item = console.locator(
            f'[data-testid="queue-item"][data-conversation="{customer.conversation}"]'
        )
        await expect(item).to_have_count(1, timeout=WAIT)
    handoff = client.get(f"relevo:conv:{customer.conversation}:handoff")
    levels = {"feedback": "Poor rating", "reopened": "Reopened", "taken_over": "Taken over"}
    levels |= {"breach": "SLA breached", "warning": "SLA alert", "priority": "Priority raised"}
    for level in levels:
        client.xadd(  # as the desk writes its alerts (`ConsoleAdapter`)
            keys.console_thread(handoff),
            {
                "ref": f"alert:{level}",
                "agent_id": "relevo",
                "agent": "Relevo",
                "text": f"a {level} alert",
                "note": "1",
                "level": level,
                "kind": "",
                "time": dt.datetime.now(dt.UTC).isoformat(),
            },
        )
    # Reopened (QA s24 A5): the last resolution is history; the wait counts from the reopening
    # (five minutes ago, while the handoff itself is seconds old).
    now = dt.datetime.now(dt.UTC)
    client.hset(
        keys.handoff(handoff),
        mapping={
            "resolved_at": (now - dt.timedelta(minutes=9)).isoformat(),
            "reopened_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "notices": json.dumps(["Flight BA777 is delayed 2 h."]),
            "notice_ids": json.dumps(["withdrawn-since"]),  # no such announcement now
        },
    )
    await item.click()
    tags = console.locator('[data-testid="thread-item"][data-kind="alert"] .cc-alert-tag')
    await expect(tags).to_have_text(list(levels.values()), timeout=WAIT)
    facts = console.locator("#cc-facts")
    await expect(facts).to_contain_text("Reopened")
    await expect(facts).not_to_contain_text("Resolved")
    await expect(console.locator("#cc-who-meta")).to_contain_text("waiting 5 min")
    withdrawn = console.locator('[data-testid="banner"][data-kind="withdrawn"]')  # QA s24 A4
    await expect(withdrawn).to_have_text("📣Notice withdrawn: Flight BA777 is delayed 2 h.")
    await console.close()


async def test_a_login_link_opened_in_an_open_console_tab_fills_the_form(
    console_gateway: ConsoleGateway, browser: Browser
) -> None:
    """`relevo up`'s link in a tab already on the console changes only the address's fragment."""
    console = await browser.new_page()
    await console.goto(console_gateway.base_url + "/console")
    await expect(console.get_by_test_id("login-name")).to_be_visible()
    await console.goto(console_gateway.base_url + f"/console#token={TOKEN}")
    await expect(console.get_by_test_id("login-token")).to_have_value(TOKEN)
    await expect(console).to_have_url(console_gateway.base_url + "/console")
    await console.close()


async def opened_post_handoff(
    gateway: ConsoleGateway, browser: Browser, event: dict[str, object]
) -> tuple[Page, list[str]]:
    """Post `event` to the social events API, then open its handoff in the console as Sofía.

    Returns the page and the page's errors, collected from before it loaded."""
    body = json.dumps(event).encode()
    posted = httpx.post(
        f"{gateway.base_url}/channels/social/events",
        content=body,
        headers={**signed_headers(SOCIAL_SECRET, body), "Content-Type": "application/json"},
    )
    assert posted.status_code == 202, posted.text
    console = await browser.new_page()
    errors: list[str] = []
    console.on("pageerror", lambda error: errors.append(str(error)))
    await console.goto(gateway.base_url + "/console")
    await log_in(console, "Sofía")
    conversation = posted.json()["conversation_id"]
    item = console.locator(f'[data-testid="queue-item"][data-conversation="{conversation}"]')
    await expect(item).to_have_count(1, timeout=WAIT)
    await item.click()
    return console, errors


async def test_the_facts_show_the_brands_post_a_public_reply_answered(
    console_gateway: ConsoleGateway, browser: Browser
) -> None:
    """ "I want to talk to a person" under the brand's post: the agent reads which post."""
    promo = "Now boarding: pets in the cabin on every route 🐶"
    event = mention(
        "I want to talk to a person",
        type="reply",
        in_reply_to={"post_id": "promo-7", "author_handle": "brisaair", "text": promo},
    )
    console, errors = await opened_post_handoff(console_gateway, browser, event)
    await expect(console.locator("#cc-facts")).to_contain_text(f"In reply toour post: “{promo}”")
    assert errors == []
    await console.close()


async def test_the_owner_invites_a_public_customer_to_private_from_the_console(
    console_gateway: ConsoleGateway, browser: Browser
) -> None:
    """Beside the reply box of a public post, for its owner: the invitation shows in the
    conversation with its delivery, once; a second click only says it went already. The post
    only used the brand's hashtag: the facts say nobody wrote to the brand."""
    event = mention("#BrisaAir quiero hablar con una persona", type="post")
    console, errors = await opened_post_handoff(console_gateway, browser, event)
    post = console.locator("#cc-facts a")  # the customer's post, where it stands (QA s24)
    await expect(post).to_have_attribute("href", str(event["url"]))
    await expect(console.locator("#cc-who-name")).to_contain_text("@ana_travels")
    await expect(console.locator("#cc-facts")).to_contain_text(
        "Overheardthe post matched “#brisaair”; nobody wrote to us"
    )
    invite = console.get_by_test_id("invite")
    await expect(invite).to_be_disabled()  # until it is hers
    await console.get_by_test_id("claim").click()
    await expect(console.get_by_test_id("handoff-state")).to_have_text("With you")
    asked: list[str] = []
    console.on("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    await invite.click()
    sent = thread(console, "invite")
    await expect(sent).to_contain_text("Invitation to private")
    await expect(sent).to_contain_text("Sigamos por privado")
    await expect(sent.get_by_test_id("delivery")).to_have_attribute(
        "data-state", "ok", timeout=WAIT
    )
    assert "posted on the public thread" in asked[0]
    await invite.click()
    await expect(console.get_by_test_id("notice")).to_contain_text("already on the public thread")
    await expect(sent).to_have_count(1)
    await console.get_by_test_id("resolve").click()
    await expect(console.get_by_test_id("handoff-state")).to_have_text("Resolved")
    await expect(invite).to_be_hidden()
    assert errors == []
    await console.close()
