"""Each output format of a report: readable, parseable, and safe with hostile names."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from html.parser import HTMLParser

import pytest

from bot.reports.kpis import Kpis, compute
from bot.reports.render import duration, render, rows
from tests.reports.test_kpis import T0, UNTIL, scenario

HOSTILE = "<script>alert('x')</script>"
HEADINGS = (
    "Volume",
    "Response times",
    "Deflection",
    "Escalations",
    "SLA",
    "Satisfaction",
    "Cost",
    "Reach",
    "Trends",
    "Delivery",
)
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


@pytest.fixture
def kpis() -> Kpis:
    return compute(scenario(department_b=HOSTILE), T0, UNTIL)


class WellFormed(HTMLParser):
    """Checks that every element is closed in order, and collects the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.tags: set[str] = set()
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_table_has_every_heading_and_figure(kpis: Kpis) -> None:
    text = render(kpis, "table")
    for heading in HEADINGS:
        assert heading in text
    for figure in ("Messages in", "CSAT (4 and 5)", "33.3%", "50.0%", "17m 00s", "eBay"):
        assert figure in text
    # every column of a breakdown says what it holds; shares only where labels split a whole
    assert "┃ stars ┃ count ┃ share" in text
    assert "┃ target         ┃ count ┃\n" in text  # warnings per target do not add up to one
    assert HOSTILE in text  # printed as it is, not read as rich markup
    assert "\x1b[" not in text  # no colour codes in text meant for files and pipes


def test_csv_has_one_row_per_metric(kpis: Kpis) -> None:
    parsed = list(csv.reader(io.StringIO(render(kpis, "csv"))))
    assert parsed[0] == ["section", "metric", "value"]
    assert all(len(row) == 3 for row in parsed)
    table = {(section, metric): value for section, metric, value in parsed[1:]}
    assert table[("volume", "messages_in")] == "3"
    assert table[("volume", "by_channel.social")] == "1"
    assert float(table[("satisfaction", "csat")]) == pytest.approx(0.5)
    # floats are rounded to 4 decimals: no float noise such as 42.894000000000005
    assert table[("deflection", "deflection_rate")] == "0.3333"
    assert table[("cost", "human_cost_total")] == "93.6267"
    assert table[("trends", "hashtags.#retraso.growth")] == ""  # new: no growth ratio
    assert table[("trends", "keywords.baggage.previous")] == "2"
    assert table[("escalations", f"by_department.{HOSTILE}")] == "1"
    assert len(parsed) - 1 == len(rows(kpis))


def test_json_round_trips(kpis: Kpis) -> None:
    data = json.loads(render(kpis, "json"))
    assert data == json.loads(json.dumps(asdict(kpis)))
    assert data["sla"]["first_response_compliance"] == 0.5
    assert data["satisfaction"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}


def test_html_is_well_formed_standalone_and_escaped(kpis: Kpis) -> None:
    page = render(kpis, "html")
    checker = WellFormed()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert checker.doctype.lower() == "doctype html"
    assert {"html", "head", "style", "body", "table", "svg", "rect"} <= checker.tags
    assert "script" not in checker.tags
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    text = "".join(checker.text)
    assert "<script>alert" in text  # shown to the reader as text
    for heading in HEADINGS:
        assert heading in text
    for external in ("src=", "href=", "<link", "@import", "url("):
        assert external not in page


def test_reasons_read_as_words_in_the_html_and_table_but_stay_codes_in_csv_and_json(
    kpis: Kpis,
) -> None:
    """QA s22: the HTML report showed "asked_for_person" where the console says the words."""
    assert kpis.escalations.by_reason  # the scenario hands over
    for fmt in ("html", "table"):
        page = render(kpis, fmt)
        assert "Asked for a person" in page and "asked_for_person" not in page
    assert "asked_for_person" in render(kpis, "csv") and "asked_for_person" in render(kpis, "json")


def test_every_format_renders_no_data() -> None:
    empty = compute([], T0, UNTIL)
    assert "│ Failure rate │     — │" in render(empty, "table")  # no data is not 0
    assert json.loads(render(empty, "json"))["volume"]["messages_in"] == 0
    assert next(csv.reader(io.StringIO(render(empty, "csv")))) == ["section", "metric", "value"]
    checker = WellFormed()
    checker.feed(render(empty, "html"))
    assert checker.errors == [] and checker.stack == []


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render(compute([], T0, UNTIL), "pdf")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.022, "22ms"),
        (0.9996, "1.0s"),
        (4.25, "4.2s"),
        (65, "1m 05s"),
        (7260, "2h 01m"),
        (100_000, "1d 3h"),
    ],
)
def test_durations_read_like_people_write_them(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
