"""Exclusion and priority list imports: a `nik,reason[,kk]` CSV loaded onto a list.

Valid rows load set-based (INSERT ... ON CONFLICT DO NOTHING in chunks); bad rows are reported
with their line numbers; a re-import adds nothing. Each import is written to the audit chain.
NIK and KK are stored only as blind indexes, never raw in rows, logs or audit.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, table, text
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.kit import audit, jobs
from prakerja.kit.clock import jakarta_date
from prakerja.kit.db import bulk_insert, is_postgres
from prakerja.kit.errors import Invalid, NotFound
from prakerja.registration import eligibility
from prakerja.registration import nik as nik_rules
from prakerja.registration.model_policy import (
    ListedPerson,
    ListImport,
    ListUpload,
    ListUploadPart,
)
from prakerja.registration.nik import parse_nik

_CHUNK = 5_000

ROW_MESSAGES = {
    "duplicate_in_file": "This NIK already appears on row %(first)s of the file",
    "kk_format": "The family card (KK) number must be exactly 16 digits",
    "reason_too_long": "The reason is longer than 200 characters",
}
MAX_STORED_ERRORS = 1_000


class ListFileInvalid(Invalid):
    code = "list_file_invalid"
    title = "The list file cannot be read"


@dataclass(frozen=True)
class RowError:
    """One rejected row: its line number in the file (header = 1), a code and an English msgid."""

    row: int
    code: str
    message: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ListImportReport:
    """Counts are exact; `errors` holds the first MAX_STORED_ERRORS rejected rows."""

    import_id: int
    file_name: str
    kind: str
    source: str
    rows_total: int
    rows_loaded: int
    rows_existing: int
    rows_rejected: int
    errors: tuple[RowError, ...]


def _check_list_row(
    line: int,
    row: dict[str, str | None],
    seen: dict[str, int],
    today: dt.date,
    valid_nik: str | None = None,
) -> tuple[dict[str, str] | None, RowError | None]:
    """`valid_nik`: the row's NIK, already found valid by `validate_many` (else it is parsed
    here, which also names what is wrong with it)."""
    nik = valid_nik
    if nik is None:
        parsed = parse_nik((row.get("nik") or "").strip(), today=today)
        if not parsed.valid:
            first = parsed.errors[0]
            return None, RowError(line, first.code, first.message, first.params)
        nik = parsed.nik
    if nik in seen:
        return None, RowError(
            line,
            "duplicate_in_file",
            ROW_MESSAGES["duplicate_in_file"],
            (("first", str(seen[nik])),),
        )
    seen[nik] = line
    kk = "".join((row.get("kk") or "").split())
    if kk and (len(kk) != 16 or not kk.isascii() or not kk.isdigit()):
        return None, RowError(line, "kk_format", ROW_MESSAGES["kk_format"])
    reason = (row.get("reason") or "").strip()
    if len(reason) > 200:
        return None, RowError(line, "reason_too_long", ROW_MESSAGES["reason_too_long"])
    return {"nik": nik, "kk": kk, "reason": reason}, None


def read_list_file(path: Path, today: dt.date) -> tuple[list[dict[str, str]], list[RowError], int]:
    """Valid rows, every rejected row, and the number of data rows; ListFileInvalid when the
    file is not UTF-8 CSV with `nik` and `reason` columns."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            reader.fieldnames = _columns(reader.fieldnames or ())
            numbered = [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ListFileInvalid("The file is not a UTF-8 CSV file") from exc
    good: list[dict[str, str]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    # Every NIK checked at once (array operations); only the rejected ones are parsed one by
    # one, for the reason to report.
    niks = [nik_rules.normalise((row.get("nik") or "").strip()) for _, row in numbered]
    valid = nik_rules.validate_many(niks, today=today).valid.tolist() if niks else []
    for (line, row), nik, ok_nik in zip(numbered, niks, valid, strict=True):
        ok, error = _check_list_row(line, row, seen, today, nik if ok_nik else None)
        if ok is not None:
            good.append(ok)
        elif error is not None:
            errors.append(error)
    return good, errors, len(numbered)


_COLUMNS = ("list_kind", "nik_bidx", "kk_bidx", "source", "reason", "batch_id", "imported_at")
_STAGE = "list_import_stage"
_STAGE_DDL = f"""CREATE TEMPORARY TABLE {_STAGE} (list_kind text, nik_bidx text, kk_bidx text,
    source text, reason text, batch_id bigint, imported_at timestamptz) ON COMMIT DROP"""
# In blind-index order: the unique and lookup indexes then fill leaf by leaf instead of at
# random (1 M rows: 35 -> 24 s).
_FROM_STAGE = f"""INSERT INTO listed_person ({", ".join(_COLUMNS)})
SELECT {", ".join(_COLUMNS)} FROM {_STAGE} ORDER BY nik_bidx
ON CONFLICT (list_kind, nik_bidx, source) DO NOTHING"""  # noqa: S608 (constants only)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the rows; entries already listed stay as they are (ON CONFLICT DO NOTHING).
    PostgreSQL: COPY into a temporary stage and one INSERT ... SELECT from it (set-based; a
    million rows in seconds). SQLite: the same INSERT in chunks of rows."""
    if is_postgres(session):
        session.execute(text(_STAGE_DDL))
        bulk_insert(session, table(_STAGE), _COLUMNS, ([r[c] for c in _COLUMNS] for r in rows))
        session.execute(text(_FROM_STAGE))
        session.execute(text(f"DROP TABLE {_STAGE}"))  # a second import in this transaction
        return
    from sqlalchemy.dialects import sqlite

    stmt = sqlite.insert(ListedPerson).on_conflict_do_nothing(
        index_elements=["list_kind", "nik_bidx", "source"]
    )
    for start in range(0, len(rows), _CHUNK):
        session.execute(stmt, rows[start : start + _CHUNK])


def _check_import_args(kind: str, source: str) -> str:
    if kind not in eligibility.LIST_KINDS:
        raise Invalid("Unknown list kind", field_errors=[{"field": "kind", "code": "kind"}])
    source = source.strip()
    if not 1 <= len(source) <= 120:
        raise Invalid(
            "The source must be 1 to 120 characters",
            field_errors=[{"field": "source", "code": "source"}],
        )
    return source


def _load(session: Session, batch: ListImport, good: list[dict[str, str]], now: dt.datetime) -> int:
    """Insert the valid rows under `batch` (blind indexes only); returns how many were new."""
    _insert_new(
        session,
        [
            {
                "list_kind": batch.kind,
                "nik_bidx": nik_bidx,
                "kk_bidx": kk_bidx,
                "source": batch.source,
                "reason": r["reason"],
                "batch_id": batch.id,
                "imported_at": now,
            }
            for r, nik_bidx, kk_bidx in zip(
                good,
                vault.blind_indexes([r["nik"] for r in good], "nik"),
                vault.blind_indexes([r["kk"] or None for r in good], "kk"),
                strict=True,
            )
        ],
    )
    count = select(func.count()).select_from(ListedPerson).where(ListedPerson.batch_id == batch.id)
    return int(session.scalar(count) or 0)


def _record(
    session: Session, batch: ListImport, *, good: int, errors: list[RowError], now: dt.datetime
) -> ListImportReport:
    """Store the outcome on the batch, audit it and build the report."""
    loaded = batch.rows_loaded
    batch.rows_existing, batch.rows_rejected = good - loaded, len(errors)
    kept = errors[:MAX_STORED_ERRORS]
    batch.errors = [
        {"row": e.row, "code": e.code, "message": e.message, "params": dict(e.params)} for e in kept
    ]
    session.flush()
    data = {"kind": batch.kind, "source": batch.source, "file": batch.file_name,
            "total": batch.rows_total, "loaded": loaded, "rejected": len(errors)}  # fmt: skip
    audit.record(session, actor=batch.created_by, action="lists.import",
                 target=f"list_import:{batch.id}", now=now, data=data)  # fmt: skip
    return ListImportReport(batch.id, batch.file_name, batch.kind, batch.source,
                            batch.rows_total, loaded, good - loaded, len(errors),
                            tuple(kept))  # fmt: skip


def import_list(
    session: Session,
    *,
    path: Path,
    kind: str,
    source: str,
    actor: str,
    now: dt.datetime,
    file_name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ListImportReport:
    """Load a `nik,reason[,kk]` CSV onto a list: valid rows load, bad rows are reported with
    their line numbers; NIKs already on the list from this source add nothing (idempotent)."""
    step = progress or (lambda _msg: None)
    source = _check_import_args(kind, source)
    step("validate")
    good, errors, total = read_list_file(Path(path), jakarta_date(now))
    batch = ListImport(
        file_name=(file_name or Path(path).name)[:200],
        kind=kind,
        source=source,
        rows_total=total,
        created_at=now,
        created_by=actor,
    )
    session.add(batch)
    session.flush()
    step("load")
    batch.rows_loaded = _load(session, batch, good, now)
    return _record(session, batch, good=len(good), errors=errors, now=now)


def list_imports(session: Session, limit: int = 100) -> list[ListImport]:
    """The newest list imports."""
    return list(session.scalars(select(ListImport).order_by(ListImport.id.desc()).limit(limit)))


def get_import(session: Session, import_id: int) -> ListImport:
    """One list import, or NotFound."""
    batch = session.get(ListImport, import_id)
    if batch is None:
        raise NotFound()
    return batch


# --- large files: imported by a job ------------------------------------------------------------

UPLOAD_JOB = "registration.import_list"
#: Files up to this size are imported within the upload's request (about 200,000 rows, a few
#: seconds); larger ones by a worker (bench/bench_list_import.py: about 30 s per million rows).
INLINE_MAX_BYTES = 8 * 1024 * 1024
#: A queued upload is kept in parts of this size (`ListUploadPart`), written and read one at a
#: time: neither the web process nor the worker holds a whole file of up to 200 MB.
PART_BYTES = 4 * 1024 * 1024
HEADER_MAX_BYTES = 64 * 1024  # what the header check reads of a queued file
_ADD_PART = insert(ListUploadPart).values(
    upload_id=bindparam("upload_id"), seq=bindparam("seq"), data=bindparam("data")
)


def queue_upload(
    session: Session,
    *,
    path: Path,
    kind: str,
    source: str,
    file_name: str,
    actor: str,
    now: dt.datetime,
) -> ListUpload:
    """Keep a large file for the job that imports it, copied from `path` a part at a time.
    What can be told at once is: a wrong kind or source, a file that is not UTF-8 CSV or lacks
    the `nik` and `reason` columns."""
    source = _check_import_args(kind, source)
    with path.open("rb") as fh:
        _check_header(fh.read(HEADER_MAX_BYTES))
        upload = ListUpload(
            kind=kind,
            source=source,
            file_name=file_name[:200],
            status="queued",
            requested_by=actor,
            requested_at=now,
        )
        session.add(upload)
        session.flush()
        fh.seek(0)
        seq = 0
        while piece := fh.read(PART_BYTES):
            session.execute(_ADD_PART, {"upload_id": upload.id, "seq": seq, "data": piece})
            seq += 1
    upload.job_id = jobs.enqueue(
        session, UPLOAD_JOB, {"upload_id": upload.id}, key=f"list-upload:{upload.id}", now=now
    )
    return upload


def _copy_parts(session: Session, upload_id: int, path: Path) -> None:
    """Write an upload's file to `path`, fetching one part at a time."""
    parts = session.execute(
        select(ListUploadPart.data)
        .where(ListUploadPart.upload_id == upload_id)
        .order_by(ListUploadPart.seq)
        .execution_options(yield_per=1)
    )
    with path.open("wb") as out:
        for (data,) in parts:
            out.write(data)


def run_upload(session: Session, *, upload_id: int, now: dt.datetime) -> ListUpload | None:
    """The job's work: import a queued upload, then delete its parts. A file that turns out
    unreadable further down marks the upload failed (a retry would fail the same way)."""
    upload = session.get(ListUpload, upload_id)
    if upload is None or upload.status != "queued":
        return upload
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.csv"
        _copy_parts(session, upload.id, path)
        try:
            with session.begin_nested():
                report = import_list(
                    session,
                    path=path,
                    kind=upload.kind,
                    source=upload.source,
                    actor=upload.requested_by,
                    now=now,
                    file_name=upload.file_name,
                )
        except ListFileInvalid as exc:
            upload.status, upload.error = "failed", (exc.detail or exc.title)[:300]
        else:
            upload.status, upload.import_id = "done", report.import_id
    session.execute(delete(ListUploadPart).where(ListUploadPart.upload_id == upload.id))
    upload.finished_at = now
    return upload


def get_upload(session: Session, upload_id: int) -> ListUpload:
    """One upload, or NotFound."""
    upload = session.get(ListUpload, upload_id)
    if upload is None:
        raise NotFound("No such list upload")
    return upload


def _check_header(content: bytes) -> None:
    """What `read_list_file` would say of the file's first line, without the rest."""
    first = content.split(b"\n", 1)[0]
    try:
        _columns(next(csv.reader([first.decode("utf-8-sig")]), []))
    except UnicodeDecodeError as exc:
        raise ListFileInvalid("The file is not a UTF-8 CSV file") from exc


def _columns(header: Sequence[str]) -> list[str]:
    """The header's column names, trimmed and lower-cased; ListFileInvalid without `nik` and
    `reason`."""
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("nik", "reason") if c not in names]
    if missing:
        raise ListFileInvalid(f"Missing column: {', '.join(missing)}", missing_columns=missing)
    return names
