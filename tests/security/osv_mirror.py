"""A local, read-only OSV query endpoint over a checkout of the PyPA advisory database.

`pip-audit` asks PyPI's per-release JSON API (`/pypi/<name>/<version>/json`) or OSV
(`api.osv.dev`) which advisories affect each installed package. Where neither is reachable (a
proxy that serves PyPI's project pages but not its per-release JSON, no route to OSV), this serves
the same data from a local copy of https://github.com/pypa/advisory-database, the database behind
PyPI's own answers, so that pip-audit itself still does the audit:

    git clone --depth 1 https://github.com/pypa/advisory-database /tmp/advisory-database
    .venv/bin/python -m tests.security.osv_mirror /tmp/advisory-database --port 8765 &
    .venv/bin/pip-audit -s osv --osv-url http://127.0.0.1:8765/v1/query
    .venv/bin/pip-audit -s osv --osv-url http://127.0.0.1:8765/v1/query --path \\
        .venv-rasa/lib/python3.10/site-packages

It answers `POST /v1/query` `{"package": {"name", "ecosystem": "PyPI"}, "version"}` with
`{"vulns": [...]}` as OSV does: an advisory affects a version listed in its `versions`, or one
inside an `ECOSYSTEM` range (from `introduced` up to `fixed`, excluded, or `last_affected`,
included). Withdrawn advisories are passed on with their `withdrawn` date (pip-audit skips them).
The answers are only as recent as the checkout: say its date next to any result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def load(database: Path) -> dict[str, list[dict[str, Any]]]:
    """Every advisory of the checkout, by canonical package name."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    advisories: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted((database / "vulns").glob("*/*.yaml")):
        advisory = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        names = set()
        for affected in advisory.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("ecosystem") == "PyPI":
                package["name"] = canonicalize_name(package["name"])  # as pip-audit compares
                names.add(package["name"])
        for name in names:
            advisories[name].append(advisory)
    return advisories


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_ranges(version: Version, ranges: list[dict[str, Any]]) -> bool:
    for span in ranges:
        if span.get("type") != "ECOSYSTEM":
            continue
        start: Version | None = None
        for event in span.get("events") or []:
            if "introduced" in event:
                introduced = str(event["introduced"])
                start = Version("0") if introduced == "0" else _version(introduced)
            elif "fixed" in event and start is not None:
                end = _version(event["fixed"])
                if end is not None and start <= version < end:
                    return True
                start = None
            elif "last_affected" in event and start is not None:
                end = _version(event["last_affected"])
                if end is not None and start <= version <= end:
                    return True
                start = None
        if start is not None and version >= start:
            return True  # introduced and never fixed
    return False


def affects(advisory: dict[str, Any], name: str, version: str) -> bool:
    """Whether `advisory` affects release `version` of package `name` (canonical)."""
    parsed = _version(version)
    for affected in advisory.get("affected") or []:
        package = affected.get("package") or {}
        if package.get("ecosystem") != "PyPI" or canonicalize_name(package["name"]) != name:
            continue
        listed = {str(v) for v in affected.get("versions") or []}
        if version in listed or (parsed is not None and str(parsed) in listed):
            return True
        if parsed is not None and _in_ranges(parsed, affected.get("ranges") or []):
            return True
    return False


def query(advisories: dict[str, list[dict[str, Any]]], body: dict[str, Any]) -> dict[str, Any]:
    """OSV's answer to one `/v1/query` body."""
    package = body.get("package") or {}
    name = canonicalize_name(str(package.get("name", "")))
    version = str(body.get("version", ""))
    found = [a for a in advisories.get(name, []) if affects(a, name, version)]
    return {"vulns": json.loads(json.dumps(found, default=_rfc3339))} if found else {}


def _rfc3339(value: object) -> str:
    """YAML's timestamps as OSV writes them (pip-audit parses `%Y-%m-%dT%H:%M:%SZ`)."""
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def serve(database: Path, port: int) -> None:
    """Serve `/v1/query` on 127.0.0.1:`port` until interrupted."""
    advisories = load(database)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            answer = json.dumps(query(advisories, json.loads(self.rfile.read(length)))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: Any) -> None:
            pass

    count = sum(len(v) for v in advisories.values())
    print(f"{count} advisories for {len(advisories)} packages on 127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="a checkout of pypa/advisory-database")
    parser.add_argument("--port", type=int, default=8765)
    arguments = parser.parse_args()
    serve(arguments.database, arguments.port)
