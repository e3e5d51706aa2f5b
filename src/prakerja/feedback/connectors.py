"""Connectors turn a channel's export file into messages; the fields are in docs/feedback-intake.md.

A connector only parses: each row becomes an `Incoming` or a reason it cannot. `import_file`
hands the good rows to intake in one batch, so a bad row never stops the rest. A live connector
(a platform API) implements the same `Connector` interface with `parse` over what it fetched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from prakerja.feedback.intake_rules import Incoming
from prakerja.feedback.service_intake import IngestReport, ingest_many

WIB = ZoneInfo("Asia/Jakarta")
Parsed = tuple[int, Incoming | str]  # (row number in the file, message or reason)
MAX_FILE_BYTES = 200 * 1024 * 1024


class Connector(Protocol):
    """Reads one channel's export format."""

    name: str
    channel: str

    def parse(self, data: bytes) -> Iterator[Parsed]:
        """Every row of the file, numbered from 1 (a CSV header is row 1)."""
        ...


def parse_time(value: Any) -> dt.datetime:
    """ISO 8601 (naive means Asia/Jakarta) or Unix seconds -> aware UTC; ValueError if neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    text = str(value or "").strip()
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text), dt.UTC)
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=WIB)).astimezone(dt.UTC)


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def _csv_rows(data: bytes, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(_text(data), newline=""))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        yield 1, {"__error__": f"missing columns: {', '.join(missing)}"}
        return
    for row in reader:
        yield reader.line_num, {k: (v or "") for k, v in row.items() if k is not None}


def _guard(no: int, build: Callable[[Any], Incoming], row: Any) -> Parsed:
    try:
        return no, build(row)
    except (ValueError, TypeError, KeyError) as exc:
        return no, f"{type(exc).__name__}: {exc}"


def _parse_csv(
    data: bytes, required: tuple[str, ...], build: Callable[[dict[str, str]], Incoming]
) -> Iterator[Parsed]:
    """(line number, message or error) per row of a CSV export with the `required` columns."""
    for no, row in _csv_rows(data, required):
        if "__error__" in row:
            yield no, row["__error__"]
            continue
        yield _guard(no, build, row)


def _chat(row: dict[str, str]) -> Incoming:
    return Incoming(
        channel="chat",
        source_id=row["message_id"],
        thread_id=row["session_id"],
        received_at=parse_time(row["sent_at"]),
        body=row["text"],
        author_name=row.get("author_name", ""),
        author_email=row.get("author_email"),
        author_phone=row.get("author_phone"),
        partner=row.get("partner") or None,
    )


def _call(row: dict[str, str]) -> Incoming:
    return Incoming(
        channel="call",
        source_id=row["call_id"],
        received_at=parse_time(row["started_at"]),
        body=row["note"],
        author_name=row.get("caller_name", ""),
        author_phone=row.get("caller_phone"),
        author_email=row.get("caller_email"),
        region=row.get("region") or None,
    )


class ChatCsv:
    """Live-chat transcripts: one row per citizen message; a chat session is one thread."""

    name, channel = "chat-csv", "chat"
    required = ("session_id", "message_id", "sent_at", "text")

    def parse(self, data: bytes) -> Iterator[Parsed]:
        return _parse_csv(data, self.required, _chat)


class CallCsv:
    """Call-centre notes: one row per call, written by the agent who took it."""

    name, channel = "call-csv", "call"
    required = ("call_id", "started_at", "note")

    def parse(self, data: bytes) -> Iterator[Parsed]:
        return _parse_csv(data, self.required, _call)


def _social(row: dict[str, Any]) -> Incoming:
    platform = str(row.get("platform") or "social").strip().lower()[:20]
    if not str(row.get("id") or "").strip():
        raise ValueError("missing id")
    text = row.get("text")
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    parent = str(row.get("parent_id") or row.get("post_id") or "").strip()
    return Incoming(
        channel="social",
        source_id=f"{platform}:{row['id']}",
        received_at=parse_time(row.get("created_at")),
        body=text,
        author_name=str(row.get("display_name") or ""),
        author_handle=str(row.get("username") or ""),
        thread_id=f"{platform}:{parent}" if row.get("parent_id") else None,
    )


class SocialJson:
    """A platform's comment export as JSON: a list of comments, or {"comments": [...]}."""

    name, channel = "social-json", "social"

    def parse(self, data: bytes) -> Iterator[Parsed]:
        try:
            doc = json.loads(_text(data))
        except json.JSONDecodeError as exc:
            yield 1, f"not JSON: {exc.msg} (line {exc.lineno})"
            return
        items = doc.get("comments") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            yield 1, 'expected a list of comments or {"comments": [...]}'
            return
        for no, item in enumerate(items, 1):
            if not isinstance(item, dict):
                yield no, "a comment must be an object"
                continue
            yield _guard(no, _social, item)


class SocialCsv:
    """A platform's comment export as CSV, with the same fields as the JSON export."""

    name, channel = "social-csv", "social"
    required = ("id", "created_at", "text")

    def parse(self, data: bytes) -> Iterator[Parsed]:
        return _parse_csv(data, self.required, _social)


def for_file(channel: str, filename: str) -> Connector:
    """The connector for a channel and file name (social: .json or .csv)."""
    if channel == "chat":
        return ChatCsv()
    if channel == "call":
        return CallCsv()
    if channel == "social":
        return SocialJson() if filename.lower().endswith(".json") else SocialCsv()
    raise ValueError(f"no file connector for channel {channel!r}")


def import_file(
    session: Session, connector: Connector, data: bytes, *, now: dt.datetime
) -> IngestReport:
    """Ingest every good row of an export file; errors name the file row. Importing twice adds
    nothing."""
    if len(data) > MAX_FILE_BYTES:
        return IngestReport(errors=[(0, f"file larger than {MAX_FILE_BYTES} bytes")])
    parsed = list(connector.parse(data))
    good = [(no, item) for no, item in parsed if isinstance(item, Incoming)]
    report = ingest_many(session, [item for _, item in good], now=now)
    report.errors = sorted(
        [(no, str(err)) for no, err in parsed if isinstance(err, str)]
        + [(good[i - 1][0], reason) for i, reason in report.errors]
    )
    return report
