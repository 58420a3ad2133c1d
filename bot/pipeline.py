"""The inbound pipeline: normalise -> dedupe -> log -> route by ownership.

Channel adapters hand it an `Inbound`; it declines what the assistant cannot read (empty,
oversized, stickers and photos) with a friendly notice, and accepts the rest atomically through
`ConversationStore.accept`, which sends it to the assistant or to the person who owns the
conversation; a customer waiting for a person is told, once per silent stretch, that the team has
the message (`bot.waiting_notice`), and that an attachment cannot reach them. After a resolution,
a rating in a few words is the rating and thanks get a "you're welcome" (`parse_rating`,
`is_closing`); a button press or a channel command is not words for a person (`bot.gestures`).
Typed text that starts with "/" never reaches Rasa as an intent (`for_assistant`).
Every stage logs one line with the conversation id.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import replace

import redis.asyncio as aioredis

from actions.privacy import private_notice_text, shows_personal_data
from bot.after_resolution import is_closing, parse_rating
from bot.conversations import Accepted, ConversationStore, Flood, Route
from bot.gestures import GREET, Gesture, gesture_of, types_back_to_bot, with_language
from bot.inbound import FOR_A_PERSON_ONLY, Channel, Inbound, Kind
from bot.texts import text, unsupported_notice
from bot.trends import hashtags, keywords
from bot.turns import AssistantMessage
from bot.unicode_safe import scrub_text
from bot.waiting_notice import asks_if_anyone_is_there, waiting_notice
from handoff.desk_view import POOR_RATING
from handoff.routing import live_routing
from handoff.sentiment import ANGRY_EMOJI, NO_EMOJI, sounds_angry
from kb_index.language import (
    DetectedLanguage,
    clearly_shown,
    conversation_language,
    message_language,
)
from relevo import keys
from relevo.events import EventType, emit, event_fields
from relevo.lanes import StreamLanes
from relevo.messages import BACK_TO_BOT, Outgoing
from relevo.metrics import INBOUND, INBOUND_SECONDS
from relevo.settings import Settings

log = logging.getLogger(__name__)

WORD_JOINER = "\u2060"  # invisible, and not the whitespace Rasa strips before reading a "/"
ELISION = " […] "  # where the middle of an over-long message was left out
BRAND_POST_CHARS = 600
"""How much of the brand's post that a public post answers goes to Rasa: its start says what
it is about, and the search reads the customer's words after it."""
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|[@#][\w.-]+(?:@[\w.-]+)?", re.IGNORECASE)


def without_lone_surrogates(inbound: Inbound) -> Inbound:
    """Replace halves of a cut emoji (a browser's JSON may carry them) with U+FFFD.

    They cannot be encoded as UTF-8, so Redis could not store the message.
    """
    display = scrub_text(inbound.display) if inbound.display else None
    return replace(inbound, text=scrub_text(inbound.text), display=display)


def for_assistant(inbound: Inbound, language: str | None = None) -> str:
    """The text Rasa reads: typed text that starts with "/" is not read as an intent.

    Rasa takes a message that starts with "/" for an intent ("/ask_human"): only the payloads
    of the bot's own buttons may be one. A web chat button press carries its title
    (`display`); Telegram's adapter answers typed commands itself and lets only its buttons'
    payloads and the commands it translates through; a public post has no buttons. A typed
    slash gets an invisible word joiner in front; the conversation log keeps the text as typed.
    """
    typed = not inbound.display and inbound.channel is not Channel.TELEGRAM
    if typed and inbound.text.lstrip().startswith("/"):
        return WORD_JOINER + inbound.text
    pressed_back = not typed and inbound.text.startswith(BACK_TO_BOT)
    if pressed_back or types_back_to_bot(inbound):  # the assistant has it: hello again
        return with_language(GREET, language)
    return inbound.text


def head_and_tail(body: str, limit: int) -> str:
    """`body` within `limit` characters: its start and its end, the middle left out.

    People put their question, and personal data such as a card number, at the end of a long
    post; cut to its start, neither reached the assistant (no "delete your post") or the desk.
    """
    if len(body) <= limit:
        return body
    room = limit - len(ELISION)
    if room < 2:
        return body[:limit]
    head = room // 2
    return body[:head] + ELISION + body[len(body) - (room - head) :]


def says_nothing(body: str) -> bool:
    """Whether a message is only links, mentions, hashtags, emoji or signs: nothing asked yet.

    "@brisaair https://x.example/photo/123" was answered with the contact-hours article.
    """
    return not any(ch.isalnum() for ch in _NOT_WORDS.sub(" ", body))


def words_of(inbound: Inbound) -> str:
    """The customer's own words, for trends: none in a button's payload.

    "/pick_article{...}", "/affirm" and "/ask_human" made "article", "pick", "deny" and "human"
    the week's trending keywords.
    """
    pressed = inbound.display is not None or inbound.text.lstrip().startswith("/")
    return "" if pressed else inbound.text


class InboundPipeline:
    """Accepts customer messages from every channel."""

    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self.store = ConversationStore(client, settings.retention_days * 24 * 3600)
        self._client = client
        self._settings = settings
        self._assistant: StreamLanes | None = None

    def hand_to(self, assistant: StreamLanes | None) -> None:
        """Hand the assistant's messages straight to `assistant`, a reader in this process.

        The accept script reads each new entry for that reader, so the call to Rasa starts
        without waiting for the reader's next poll of the stream (one round trip and a turn of
        the event loop less per message). None: leave them to whichever reader polls first.
        """
        self._assistant = assistant

    async def accept(
        self, inbound: Inbound, *, client_id: str | None = None, notice_text: str | None = None
    ) -> Accepted:
        """Take one message; a repeat of an accepted one is dropped.

        `notice_text` answers the message instead of the assistant (a channel's /help); a
        command or a button press is routed as one (`bot.gestures`).
        """
        inbound = without_lone_surrogates(inbound)
        language = await self._language(inbound)
        context = {
            "conversation": inbound.conversation_id,
            "channel": inbound.channel.value,
            "message_id": inbound.message_id,
        }
        log.info(
            "inbound", extra={**context, "kind": inbound.kind.value, "chars": len(inbound.text)}
        )
        emoji_read = await self._emoji_for_the_assistant(inbound)
        notice = self._notice(inbound, notice_text, language.code, emoji_read=emoji_read)
        limit = self._settings.max_message_chars
        if len(inbound.text) > limit:  # what a person can read, its question at the end too
            inbound = replace(inbound, text=head_and_tail(inbound.text, limit))
        message = AssistantMessage(
            message_id=inbound.message_id,
            conversation_id=inbound.conversation_id,
            text=for_assistant(inbound, language.code),
            metadata=self._metadata(inbound, language),
        )
        rating = parse_rating(inbound.text)
        gesture = gesture_of(inbound, answered=notice_text is not None)
        assistant = self._assistant
        started = time.perf_counter()
        accepted = await self.store.accept(
            inbound,
            assistant_fields=message.to_fields(),
            notice=notice,
            client_id=client_id,
            rating=rating,
            thanks=await self._thanks(inbound, rating) if rating else None,
            welcome=self._welcome(inbound, rating, language.code),
            relayed_notice=self._relayed_notice(inbound, language.code),
            reopen_seconds=self._settings.handoff_reopen_minutes * 60,
            flood=self._flood(inbound, notice_text, language.code),
            event=None
            if inbound.kind in FOR_A_PERSON_ONLY
            else self._message_in(inbound, language.code),
            hand_to=assistant.consumer if assistant else None,
            language=language.code if language.decided else None,
            waiting_notice_seconds=keys.WAITING_NOTICE_SECONDS,
            presence_seconds=(
                keys.PRESENCE_NOTICE_SECONDS if asks_if_anyone_is_there(inbound.text) else 0
            ),
            gesture=gesture,
            command_answer=self._command_answer(inbound, gesture, language.code),
        )
        if assistant and accepted.taken:
            assistant.take(accepted.taken)
            await asyncio.sleep(0)  # the assistant's call to Rasa goes out before the channel's ack
        INBOUND_SECONDS.labels(inbound.channel.value).observe(time.perf_counter() - started)
        INBOUND.labels(inbound.channel.value, accepted.route.value).inc()
        log.info(
            "routed", extra={**context, "route": accepted.route.value, "log_id": accepted.log_id}
        )
        if accepted.route is Route.RATING:
            await self._rated(inbound, rating)
        if accepted.waiting:
            routing = live_routing(self._settings.routing_file)
            said = await self.store.said_by(inbound.conversation_id, "bot")
            await self.store.enqueue(
                waiting_notice(inbound, accepted.waiting, routing, self._settings, said=said)
            )
        return accepted

    def _flood(self, inbound: Inbound, notice_text: str | None, language: str) -> Flood:
        """The customer's rate in this minute; the slow-down notice unless the channel has one.

        The accept script counts the message (a redelivery of an accepted one does not count).
        """
        minute = int(inbound.received_at.timestamp() // 60)
        return Flood(
            key=keys.flood(inbound.channel.value, inbound.customer.id, minute),
            limit=self._settings.customer_messages_per_minute,
            slow_down=None
            if notice_text
            else self._notice(inbound, text("slow_down", language), language),
        )

    @staticmethod
    def _message_in(inbound: Inbound, language: str) -> dict[str, str]:
        """The message's operations event (ids and trends, not the words)."""
        return event_fields(
            EventType.MESSAGE_IN,
            at=inbound.received_at,
            conversation=inbound.conversation_id,
            channel=inbound.channel.value,
            language=language,
            public="1" if inbound.public else "",
            customer=keys.customer(inbound.channel.value, inbound.customer.id),
            followers=inbound.customer.followers,
            hashtags=" ".join(hashtags(words_of(inbound))),
            keywords=" ".join(keywords(words_of(inbound))),
        )

    async def _rated(self, inbound: Inbound, rating: int | None) -> None:
        """The `rating` event of a customer's rating of a resolved handoff."""
        handoff = await self._client.get(keys.conversation_handoff(inbound.conversation_id))
        await emit(
            self._client,
            EventType.RATING,
            handoff=handoff,
            conversation=inbound.conversation_id,
            channel=inbound.channel.value,
            rating=rating,
        )

    async def _language(self, inbound: Inbound) -> DetectedLanguage:
        """The language to answer the message in (see `conversation_language`).

        The conversation's language is read only when the message does not show its own clearly.
        """
        detected = message_language(inbound.text, inbound.language, self._settings.default_language)
        if clearly_shown(inbound.text, detected):
            return detected
        current = await self.store.language(inbound.conversation_id)
        return conversation_language(inbound.text, detected, current)

    async def _thanks(self, inbound: Inbound, rating: int) -> Outgoing:
        """The answer to a rating, in the language of the handoff that asked for it.

        A poor one is met with an apology and an invitation to reply, which reopens the handoff.
        """
        language = await self.store.handoff_language(inbound.conversation_id)
        key = "rating_thanks_poor" if rating <= POOR_RATING else "rating_thanks"
        return inbound.answer("thanks", text(key, language))

    @staticmethod
    def _welcome(inbound: Inbound, rating: int | None, language: str) -> Outgoing | None:
        """The answer to thanks after a resolution (see `is_closing`); None for anything else."""
        if rating or not is_closing(inbound.text):
            return None
        return inbound.answer("welcome", text("welcome", language))

    @staticmethod
    def _command_answer(inbound: Inbound, gesture: Gesture, language: str) -> Outgoing | None:
        """The answer to a command while a person has the conversation (`Gesture.answer`)."""
        said = gesture.answer(language)
        return inbound.answer("command", said) if said else None

    @staticmethod
    def _relayed_notice(inbound: Inbound, language: str) -> Outgoing | None:
        """For an attachment that goes to a person: they will see only the text.

        For a public post that shows personal data: the request to delete it and the link to
        private, which the assistant gives when it has the conversation (QA s25: posted while
        a person had the case, it got silence until the person answered).
        """
        what = inbound.route.get("attachment")
        if what:
            return inbound.answer("notice", unsupported_notice(what, language, relayed=True))
        if inbound.public and shows_personal_data(inbound.text):
            notice = private_notice_text(inbound.text, language, inbound.channel.value)
            return replace(inbound.answer("privacy", notice), invite_private=True)
        return None

    def _metadata(self, inbound: Inbound, language: DetectedLanguage) -> dict[str, object]:
        """What Rasa and the actions learn about the message.

        The language (Rasa's `language` slot, filled from this metadata) goes once the message
        or the conversation has one: a Spanish customer's "check-in" is answered in Spanish.
        """
        metadata: dict[str, object] = {
            "channel": inbound.channel.value,
            "public": inbound.public,
            "customer": inbound.profile(),
        }
        if inbound.route.get("metrics"):
            metadata["metrics"] = inbound.route["metrics"]  # how viral a public post is
        if inbound.overheard:
            # The listening term: answered in public only when it helps (bot.turns), and the
            # agent of a handoff learns that the author did not write to the brand.
            metadata["overheard"] = inbound.overheard
        if inbound.brand_post:  # what "how much is it?" under the brand's post asks about
            metadata["brand_post"] = inbound.brand_post[:BRAND_POST_CHARS]
        if language.decided:
            metadata["language"] = language.code
        if inbound.display:
            metadata["display"] = inbound.display  # a button's title: the transcript shows it
        return metadata

    async def _emoji_for_the_assistant(self, inbound: Inbound) -> bool:
        """Whether a public post of emoji alone is the assistant's to read, not a hello's.

        An angry one is a complaint; a 👎 is a no to the assistant's answer above it (alone, a
        first post, it would read as "no, nothing else"). "@brisaair 😡😡😡" and a 👎 under an
        answer got a cheerful hello (QA s25).
        """
        body = inbound.text
        if not (inbound.public and says_nothing(body) and sounds_angry(body)):
            return False
        if any(sign not in NO_EMOJI for sign in ANGRY_EMOJI.intersection(body)):
            return True
        return bool(await self.store.said_by(inbound.conversation_id, "bot", within=20))

    def _notice(
        self,
        inbound: Inbound,
        notice_text: str | None,
        written_in: str,
        *,
        emoji_read: bool = False,
    ) -> Outgoing | None:
        """A friendly reply instead of the assistant, for messages it cannot read.

        In public (a post, a group) a bare mention gets a hello, as does one with only links,
        mentions, hashtags or emoji (`says_nothing`), unless the brand only overheard it; and a
        long post is not sent back to be summed up for everyone to see: the assistant reads its
        start and its end (`head_and_tail`).
        """
        body = inbound.text.strip()
        if notice_text:
            reply = notice_text
        elif inbound.kind is Kind.UNSUPPORTED:
            what = inbound.route.get("attachment", "")
            reply = unsupported_notice(what, written_in, relayed=False)
        elif inbound.public and says_nothing(body) and not emoji_read:
            if inbound.overheard:
                return None  # nobody spoke to the brand: no hello (nor a reply, bot.assistant)
            reply = text("empty_public", written_in)
        elif not body:
            reply = text("empty", written_in)
        elif len(body) > self._settings.max_message_chars and not inbound.public:
            reply = text("too_long", written_in, limit=self._settings.max_message_chars)
        else:
            return None
        return inbound.answer("notice", reply)
