"""The desk in a web page: the agent console's side of the handoff core.

`ConsoleDesk` is the console's `DeskAdapter`. There are no cards to draw: the page reads handoffs,
conversations and what agents wrote straight from Redis, so the adapter keeps the console's two
indexes (open handoffs, recently closed ones), records whether each reply reached the customer,
and announces every change on a capped stream that each open console page follows (`ChangeFeed`),
whichever gateway serves it. Claims, replies, notes and invitations to private go through the
same `Desk` as Slack's. Who the agents are and their sessions: `handoff.console_login`.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from handoff.console_login import Agent
from handoff.desk import Desk
from handoff.desk_view import AlertLevel, HandoffView, load, local_time
from handoff.ownership import handoff_events
from handoff.replies import ReplyOutcome, is_internal_note
from handoff.routing import Routing, configured_routing
from handoff.sla import SlaMonitor
from relevo import keys

RECENTLY_CLOSED = 50  # returned and resolved handoffs the console keeps listing
EVENTS_MAXLEN = 1000
AGENT_MEMORY_SECONDS = 30 * 24 * 3600  # who can be picked for a reassignment
RECEIPT_PREFIX = "console"


# File a handoff under open or closed by its state now, not by the view the desk had loaded (an
# agent's click and a customer's message may be handled at once), and tell the pages.
_PLACE = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' or state == 'agent' then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[4]) - 1)
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'handoff', ARGV[1])
"""


@dataclass(frozen=True)
class Written:
    """Something an agent wrote in the console: a reply (and whether it arrived) or a note."""

    id: str
    ref: str
    agent_id: str
    agent: str
    text: str
    note: bool
    time: str
    delivery: str  # "" for a note; pending, ok or failed for a reply
    reason: str = ""
    level: str = ""  # the desk's own alerts: info, warning or breach
    invite: bool = False  # the agent's invitation to continue in private


def queue_order(view: HandoffView) -> tuple[int, int, str]:
    """Most urgent first (the priority now, then the score), then the longest waiting.

    A reopened handoff waits since its reopening (`cycle_started_at`), not its first escalation.
    """
    return (-view.priority.rank, -view.request.score, view.cycle_started_at)


class ConsoleDesk:
    """The console's desk adapter, around the shared `Desk`."""

    def __init__(self, client: aioredis.Redis, routing: Routing | None = None) -> None:
        self._client = client
        self._place = client.register_script(_PLACE)
        self.routing = routing or configured_routing(None)
        self.desk = Desk(client, self, self.routing)
        self.sla = SlaMonitor(client, self, self.routing)

    # --- the adapter --------------------------------------------------------------------

    async def post_card(self, view: HandoffView) -> tuple[str, str]:
        """List the new handoff; its "card" is the handoff itself."""
        await self._changed(view)
        return RECEIPT_PREFIX, view.id

    async def update_card(self, view: HandoffView) -> None:
        """Move the handoff between the open and closed lists, and tell the pages."""
        await self._changed(view)

    async def post_in_thread(self, view: HandoffView, body: str) -> None:
        """Tell the pages: they read the customer's words from the conversation log itself."""
        await self._changed(view)

    async def alert(
        self,
        view: HandoffView,
        body: str,
        *,
        level: AlertLevel,
        mention: str | None = None,
        notify: str = "",
    ) -> None:
        """A desk warning in the handoff's thread (every console page sees every thread)."""
        await self._keep(
            view.id,
            ref=f"alert:{secrets.token_hex(6)}",
            agent=Agent("relevo", "Relevo"),
            text=body,
            note=True,
            level=level.value,
        )
        await self._changed(view)

    async def post_invitation(
        self, view: HandoffView, *, agent: str, agent_name: str, body: str
    ) -> str:
        """The invitation in the handoff's thread, as the agent's, with its delivery."""
        ref = f"{RECEIPT_PREFIX}:{view.id}:invite-{secrets.token_hex(6)}"
        await self._keep(view.id, ref=ref, agent=Agent(agent, agent_name), text=body, kind="invite")
        await self._announce(view.id)
        return ref

    def when(self, iso: str, timezone: str) -> str:
        """A time in the department's zone, named: the page shows alerts as written."""
        return local_time(iso, timezone)

    async def mark_delivery(self, receipt: str, ok: bool, reason: str) -> None:
        """Record whether a console reply reached the customer (others are not ours)."""
        prefix, handoff_id, _ = [*receipt.split(":", 2), "", ""][:3]
        if prefix != RECEIPT_PREFIX or not handoff_id:
            return
        await self._client.hset(
            keys.console_receipts(handoff_id), receipt, json.dumps({"ok": ok, "reason": reason})
        )
        await self._announce(handoff_id)

    async def _changed(self, view: HandoffView) -> None:
        created = dt.datetime.fromisoformat(view.request.created_at).timestamp()
        await self._place(
            keys=[
                keys.handoff(view.id),
                keys.CONSOLE_OPEN,
                keys.CONSOLE_CLOSED,
                keys.CONSOLE_EVENTS,
            ],
            args=[view.id, created, time.time(), RECENTLY_CLOSED, EVENTS_MAXLEN],
        )

    async def _announce(self, handoff_id: str) -> None:
        await self._client.xadd(
            keys.CONSOLE_EVENTS, {"handoff": handoff_id}, maxlen=EVENTS_MAXLEN, approximate=True
        )

    # --- the console's reads and writes -------------------------------------------------

    async def write(
        self,
        handoff_id: str,
        agent: Agent,
        text: str,
        *,
        note: bool,
        ref: str,
        as_typed: bool = False,
    ) -> ReplyOutcome:
        """A reply to the customer (owner only) or an internal note, through the desk.

        The agent's switch decides which. A reply that starts like a note ("Note: ...", the
        Slack desk's mark) is sent only `as_typed`: kept as a note, a reply meant for the
        customer never reached them; sent, a note typed out of habit would. `ref` is the page's
        id for the message, so a request sent twice is written once.
        """
        if not note and not as_typed and is_internal_note(text):
            return ReplyOutcome.LOOKS_LIKE_NOTE
        message_ref = f"{RECEIPT_PREFIX}:{handoff_id}:{ref}"
        outcome = await self.desk.reply(
            handoff_id,
            user=agent.id,
            name=agent.name,
            body=text,
            message_ref=message_ref,
            note=note,
        )
        if outcome in (ReplyOutcome.SENT, ReplyOutcome.NOTE):
            note = outcome is ReplyOutcome.NOTE
            await self._keep(handoff_id, ref=message_ref, agent=agent, text=text, note=note)
            await self._announce(handoff_id)
        return outcome

    async def _keep(
        self,
        handoff_id: str,
        *,
        ref: str,
        agent: Agent,
        text: str,
        note: bool = False,
        level: str = "",
        kind: str = "",
    ) -> None:
        """Add to what agents wrote about a handoff (the desk's alerts, `level`, too)."""
        await self._client.xadd(
            keys.console_thread(handoff_id),
            {
                "ref": ref,
                "agent_id": agent.id,
                "agent": agent.name,
                "text": text,
                "note": "1" if note else "",
                "level": level,
                "kind": kind,
                "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            },
        )

    async def handoff(self, handoff_id: str) -> HandoffView | None:
        """One handoff, or None."""
        return await load(self._client, handoff_id)

    async def handoffs(self) -> tuple[list[HandoffView], list[HandoffView]]:
        """The open handoffs (most urgent first, then oldest) and the recently closed ones."""
        open_ids = await self._client.zrange(keys.CONSOLE_OPEN, 0, -1)
        closed_ids = await self._client.zrevrange(keys.CONSOLE_CLOSED, 0, RECENTLY_CLOSED - 1)
        waiting = sorted(await self._load_all(open_ids), key=queue_order)
        return waiting, await self._load_all(closed_ids)

    async def _load_all(self, ids: list[str]) -> list[HandoffView]:
        views = [await load(self._client, handoff_id) for handoff_id in ids]
        return [view for view in views if view is not None]

    async def written(self, handoff_id: str) -> list[Written]:
        """What agents wrote about a handoff, oldest first, with the delivery of each reply."""
        entries = await self._client.xrange(keys.console_thread(handoff_id))
        receipts = await self._client.hgetall(keys.console_receipts(handoff_id))
        written = []
        for entry_id, fields in entries:
            note = bool(fields.get("note"))
            receipt = json.loads(receipts[fields["ref"]]) if fields["ref"] in receipts else None
            delivery = "" if note else "pending" if receipt is None else "ok"
            if receipt is not None and not receipt["ok"]:
                delivery = "failed"
            written.append(
                Written(
                    id=entry_id,
                    ref=fields["ref"],
                    agent_id=fields["agent_id"],
                    agent=fields["agent"],
                    text=fields["text"],
                    note=note,
                    time=fields["time"],
                    delivery=delivery,
                    reason=receipt["reason"] if receipt else "",
                    level=fields.get("level", ""),
                    invite=fields.get("kind") == "invite",
                )
            )
        return written

    async def history(self, handoff_id: str) -> list[dict[str, str]]:
        """Who did what to the handoff, and when (claims, returns, ratings...)."""
        entries = await self._client.xrange(handoff_events(handoff_id))
        return [{"id": entry_id, **fields} for entry_id, fields in entries]

    async def remember(self, agent: Agent) -> None:
        """Note that `agent` logged in, so colleagues can hand them a conversation."""
        await self._client.hset(
            keys.CONSOLE_AGENTS, agent.id, json.dumps({"name": agent.name, "seen": time.time()})
        )

    async def agents(self) -> list[Agent]:
        """The agents who logged in during the last 30 days, by name."""
        known = await self._client.hgetall(keys.CONSOLE_AGENTS)
        since = time.time() - AGENT_MEMORY_SECONDS
        found = [(agent_id, json.loads(raw)) for agent_id, raw in known.items()]
        return sorted(
            (Agent(agent_id, data["name"]) for agent_id, data in found if data["seen"] >= since),
            key=lambda agent: agent.name.casefold(),
        )

    def feed(self) -> ChangeFeed:
        """A feed of changes for one console page."""
        return ChangeFeed(self._client)


class ChangeFeed:
    """The handoffs that changed, for one page: all of them, and the conversation it has open.

    Customer messages to a person reach the page through the desk's relay; the conversation log
    is followed too so that the open conversation also shows the bot's messages after a return.
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._cursors: dict[str, str] = {}
        self._watched: tuple[str, str] | None = None  # (log key, handoff id)

    async def start(self) -> None:
        """Begin with the changes from now on."""
        self._cursors[keys.CONSOLE_EVENTS] = await self._last(keys.CONSOLE_EVENTS)

    async def watch(self, handoff_id: str) -> None:
        """Follow the conversation of `handoff_id` too (instead of the one followed so far)."""
        if self._watched is not None:
            self._cursors.pop(self._watched[0], None)
            self._watched = None
        view = await load(self._client, handoff_id)
        if view is not None:
            log_key = keys.conversation_log(view.request.conversation_id)
            self._cursors[log_key] = await self._last(log_key)
            self._watched = (log_key, handoff_id)

    async def next(self, block_ms: int) -> list[str]:
        """The handoffs changed since the last call, waiting up to `block_ms` for one."""
        found = await self._client.xread(dict(self._cursors), count=100, block=block_ms)
        changed: list[str] = []
        for stream, entries in found or []:
            if stream not in self._cursors:
                continue  # a conversation no longer watched
            self._cursors[stream] = entries[-1][0]
            if stream == keys.CONSOLE_EVENTS:
                ids = [fields.get("handoff", "") for _, fields in entries]
            else:
                ids = [self._watched[1]] if self._watched and self._watched[0] == stream else []
            changed.extend(i for i in ids if i and i not in changed)
        return changed

    async def _last(self, stream: str) -> str:
        newest = await self._client.xrevrange(stream, count=1)
        return str(newest[0][0]) if newest else "0-0"
