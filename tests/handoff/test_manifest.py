"""The Slack app manifest asks for what the desk uses, and no more."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import ROOT

MANIFEST = ROOT / "deploy" / "slack-app-manifest.yml"


def _web_api_methods() -> set[str]:
    source = (ROOT / "handoff" / "slack.py").read_text()
    return set(re.findall(r"self\.web\.(\w+)\(", source))


def test_the_manifest_scopes_cover_every_web_api_call_and_nothing_else() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {
        "chat_postMessage": {"chat:write"},
        "chat_update": {"chat:write"},
        "chat_postEphemeral": {"chat:write"},
        "reactions_add": {"reactions:write"},
        "users_info": {"users:read"},
    }
    used = _web_api_methods()
    assert used <= set(needed), f"a Web API call without a known scope: {used - set(needed)}"
    history = {"channels:history", "groups:history"}  # to receive thread replies as events
    assert scopes == set().union(*(needed[m] for m in used)) | history
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"message.channels", "message.groups"}
    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    ]
    assert [Path(u).name for u in urls] == ["events", "interactions"]
