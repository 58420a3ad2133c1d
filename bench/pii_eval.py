"""Personal-data detection: precision and recall of relevo.pii on a labelled set, per kind.

Run: `.venv/bin/python bench/pii_eval.py [--data tests/data/pii_labelled.yml] [--errors]`.
The set holds Spanish and English customer messages, each labelled with the personal data it
contains (kind and value), hard negatives included (flight numbers, prices, dates, Luhn-invalid
card-like numbers, DNIs with a wrong letter...).

A finding is a true positive when its kind is the labelled kind and its text equals the labelled
value once spaces, dots and dashes are removed; any other finding is a false positive, any
labelled value not found a false negative. Measured in the same run, a naive baseline: one
generic regex (any run of six or more digits, or of letters and digits with a digit in it, or a
simple e-mail) whose kind is guessed from its shape alone, to show what the validators and cues
of relevo.pii buy. tests/privacy/test_pii.py asserts the goals with `score` from here.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from relevo import pii

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii_labelled.yml"
KINDS = [kind.value for kind in pii.Kind]
OVERALL = "overall"

# A detector maps a text to its findings as (kind, text) pairs.
Detector = Callable[[str], Iterable[tuple[str, str]]]


@dataclass
class Counts:
    """True positives, false positives and false negatives of one kind (or all of them)."""

    support: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """Share of the findings that are right (1.0 when nothing was found)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of the labelled values that were found (1.0 when there were none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass
class Error:
    """A finding that is not labelled (false positive) or a label not found (false negative)."""

    what: str
    kind: str
    value: str
    text: str


def load(path: Path = DATA) -> list[dict]:
    """The labelled entries: text, language and pii (a list of kind and value)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def normalise(value: str) -> str:
    """A value as compared: spaces, dots and dashes do not matter."""
    return re.sub(r"[\s.\-]", "", value)


def score(
    entries: list[dict], detect: Detector, errors: list[Error] | None = None
) -> dict[str, Counts]:
    """Counts per kind, and overall, of `detect` on the labelled entries.

    Args:
        entries: the labelled set, as `load` returns it.
        detect: the detector under test.
        errors: when given, every false positive and false negative is appended to it.
    """
    counts = {kind: Counts() for kind in [*KINDS, OVERALL]}
    for entry in entries:
        expected = [(label["kind"], normalise(str(label["value"]))) for label in entry["pii"]]
        for kind, _ in expected:
            counts[kind].support += 1
            counts[OVERALL].support += 1
        unmatched = list(expected)
        for kind, text in detect(entry["text"]):
            key = (kind, normalise(text))
            hit = key in unmatched
            if hit:
                unmatched.remove(key)
            for bucket in (counts[kind], counts[OVERALL]):
                bucket.tp += hit
                bucket.fp += not hit
            if not hit and errors is not None:
                errors.append(Error("false positive", kind, text, entry["text"]))
        for kind, value in unmatched:
            counts[kind].fn += 1
            counts[OVERALL].fn += 1
            if errors is not None:
                errors.append(Error("false negative", kind, value, entry["text"]))
    return counts


def relevo_detector(text: str) -> list[tuple[str, str]]:
    """relevo.pii's findings."""
    return [(finding.kind.value, finding.text) for finding in pii.find(text)]


_NAIVE = re.compile(
    r"[\w.+\-]+@[\w\-]+\.[\w.\-]*\w"
    r"|\+?\d(?:[ \-]?\d){5,}"
    r"|\b(?=[A-Za-z]*\d)[A-Za-z0-9]{6,}\b"
)


def _naive_kind(value: str) -> str:
    """The kind a value's shape suggests, with no validation."""
    if "@" in value:
        return "email"
    digits = re.sub(r"\D", "", value)
    if len(digits) == len(re.sub(r"[\s+\-]", "", value)):  # digits only
        if len(digits) >= 13:
            return "card"
        if value.startswith("+") or len(digits) >= 9:
            return "phone"
        return "national_id" if len(digits) >= 7 else "booking"
    if len(value) == 6:
        return "booking"
    if len(value) == 9 and (value[0].isdigit() or value[0] in "XYZxyz") and value[-1].isalpha():
        return "national_id"
    return "passport"


def baseline_detector(text: str) -> list[tuple[str, str]]:
    """The naive baseline: one generic regex, the kind guessed from the shape."""
    return [(_naive_kind(m[0]), m[0]) for m in _NAIVE.finditer(text)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="labelled set (YAML)")
    parser.add_argument("--errors", action="store_true", help="list relevo.pii's mistakes")
    args = parser.parse_args()

    entries = load(args.data)
    errors: list[Error] = []
    ours = score(entries, relevo_detector, errors)
    naive = score(entries, baseline_detector)
    negatives = sum(1 for entry in entries if not entry["pii"])
    languages = sorted({entry["language"] for entry in entries})
    print(
        f"{len(entries)} messages ({', '.join(languages)}), {negatives} without personal data, "
        f"{ours[OVERALL].support} labelled values\n"
    )
    header = (
        f"{'kind':<12} {'support':>7} | {'relevo.pii':^24} | {'naive baseline':^24}\n"
        f"{'':<12} {'':>7} | {'P':>6} {'R':>8} {'F1':>8} | {'P':>6} {'R':>8} {'F1':>8}"
    )
    print(header)
    print("-" * len(header.splitlines()[1]))
    for kind in [*KINDS, OVERALL]:
        if kind == OVERALL:
            print("-" * len(header.splitlines()[1]))
        row = f"{kind:<12} {ours[kind].support:>7}"
        for counts in (ours[kind], naive[kind]):
            row += f" | {counts.precision:>6.3f} {counts.recall:>8.3f} {counts.f1:>8.3f}"
        print(row)
    print(
        f"\nrelevo.pii: {ours[OVERALL].fp} false positives, {ours[OVERALL].fn} false negatives;"
        f" baseline: {naive[OVERALL].fp} false positives, {naive[OVERALL].fn} false negatives"
    )
    if args.errors:
        for error in errors:
            print(f"{error.what:<15} {error.kind:<12} {error.value!r:<28} in {error.text!r}")


if __name__ == "__main__":
    main()
