"""`relevo forget` through the CLI app: its help, and what its summary says of the drafts."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from bot.cli import app
from relevo import keys
from relevo.settings import get_settings


@pytest.fixture
def runner(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI on the test Redis, with the articles under tmp_path/kb and a wide terminal."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("RELEVO_KB_DIR", str(tmp_path / "kb" / "articles"))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_help_shows_a_social_profile_as_written(runner: CliRunner) -> None:
    help_text = runner.invoke(app, ["forget", "--help"]).output
    assert "social:x:987" in help_text and "❌" not in help_text
    unknown = runner.invoke(app, ["forget", "social:x:987", "--yes"])
    assert unknown.exit_code == 1 and "No customer 'social:x:987'" in unknown.output


def test_the_summary_says_drafts_are_to_be_checked_by_hand(
    runner: CliRunner, redis_client: redis.Redis, tmp_path: Path
) -> None:
    for customer in ("777", "778"):
        redis_client.hset(keys.customer("telegram", customer), mapping={"channel": "telegram"})
    before = runner.invoke(app, ["forget", "telegram:777", "--yes"])
    assert before.exit_code == 0 and "Not rewritten" not in before.output  # no drafts yet
    drafts = tmp_path / "kb" / "drafts"
    drafts.mkdir(parents=True)
    (drafts / "draft-drone-en.md").write_text("---\nid: draft-drone-en\n---\n")
    after = runner.invoke(app, ["forget", "telegram:778", "--yes"])
    assert after.exit_code == 0, after.output
    assert (
        f"Not rewritten: the article drafts already written by `relevo kb gaps --write` in {drafts}"
        in " ".join(after.output.split())
    )
    assert "check them by hand" in after.output
