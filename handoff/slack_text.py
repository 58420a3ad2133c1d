"""Text between Slack and customers. Pure.

An agent's message as plain text for the customer: Slack escapes `&`, `<` and `>` and wraps
links, mentions and dates in angle brackets (`<https://…|our page>`, `<@U2>`, `<#C1|desk>`,
`<!here>`). The customer reads none of that: links become "label (url)", people their display
name, channels "#name", group and broadcast mentions nothing, so no internal id ever reaches
them.

The other way, a customer's words for Slack (`slack_escaped`): escaped as Slack asks, so that
"<!channel>" in a message does not ping the whole desk channel, nor "<https://…|your refund>"
show a disguised link on the card. The desk's own dates go to Slack as date tokens
(`slack_date`), which each agent reads on their own clock, and which the escaping keeps.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

_TOKEN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_SPACES = re.compile(r"[ \t]{2,}")
_DATE = re.compile(r"<!date\^\d+\^[^|<>]*\|[^<>]*>")  # what `slack_date` writes


def slack_date(iso: str) -> str:
    """A Slack date token: shown in each agent's own time zone."""
    moment = dt.datetime.fromisoformat(iso)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{iso}>"


def slack_escaped(text: str) -> str:
    """`text` as Slack's mrkdwn shows it as written: `&`, `<` and `>` escaped.

    Date tokens (`<!date^…|…>`, which the desk writes in its alerts) are kept: a date pings no
    one and links nowhere.
    """
    kept, start = [], 0
    for date in _DATE.finditer(text):
        kept += [_escaped(text[start : date.start()]), date.group()]
        start = date.end()
    return "".join([*kept, _escaped(text[start:])])


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mentioned_users(text: str) -> set[str]:
    """The Slack user ids mentioned in `text` (`<@U…>`)."""
    return set(_USER.findall(text))


def plain_text(text: str, names: Mapping[str, str]) -> str:
    """`text` as Slack sent it, as the customer should read it.

    `names`: display names of the mentioned users; a user without one is left out.
    """
    plain = _TOKEN.sub(lambda match: _token(match.group(1), match.group(2), names), text)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in plain.split("\n")).strip()


def _token(target: str, label: str | None, names: Mapping[str, str]) -> str:
    """One `<…>` token in words."""
    if target.startswith("@"):
        return names.get(target[1:], "")
    if target.startswith("#"):
        return f"#{label}" if label else ""
    if target.startswith("!date^"):  # a date: its fallback text
        return label or ""
    if target.startswith("!"):  # <!here>, <!channel>, <!subteam^S1|@care>
        return ""
    url = target.removeprefix("mailto:")
    if not label or label in (url, target):
        return url
    return f"{label} ({url})"
