"""Importing an exclusion list: a `nik,reason,kk` CSV of N rows onto PostgreSQL, then the same
file again (nothing new: the import is idempotent).

Creates (and finally drops) the database `prakerja_bench_lists` at 127.0.0.1:5432 (user
postgres). One row in 100 is invalid (a bad date), so the report has errors to store. Size with
BENCH_LIST_N (default 1,000,000) or `python -m bench.bench_list_import N`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scratch

URL = scratch.url_of("prakerja_bench_lists")
NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
BORN = dt.date(1962, 1, 1)


def write_file(path: Path, n: int) -> None:
    """N rows of distinct NIKs in Kab. Bogor (kecamatan 01), one in 100 with day 32 (invalid)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("nik,reason,kk\n")
        for i in range(n):
            born = BORN + dt.timedelta(days=i % 15_000)
            day = 32 if i % 100 == 99 else born.day + (40 if i % 2 else 0)
            nik = f"320101{day:02d}{born.month:02d}{born.year % 100:02d}{i // 15_000 + 1:04d}"
            fh.write(f"{nik},ASN aktif,3201{i // 3:012d}\n")


def run(n: int | None = None) -> dict[str, Any]:
    """Write the file, import it twice; seconds and rows per second for each import."""
    import prakerja.models  # noqa: F401
    from prakerja.kit import migrate
    from prakerja.kit.db import Database
    from prakerja.registration import service_lists

    n = n or int(os.environ.get("BENCH_LIST_N", "1000000"))
    scratch.recreate("prakerja_bench_lists")
    out: dict[str, Any] = {"rows": n}
    try:
        migrate.upgrade(URL)
        db = Database(URL)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "exclusion.csv"
            write_file(path, n)
            out["file_mib"] = round(path.stat().st_size / 2**20, 1)
            for run_name in ("first", "again"):
                marks: dict[str, float] = {}
                start = time.perf_counter()

                def mark(step: str, marks: dict[str, float] = marks, start: float = start) -> None:
                    marks[step] = time.perf_counter() - start

                with db.transaction() as s:
                    report = service_lists.import_list(
                        s, path=path, kind="exclusion", source="BKN", actor="bench", now=NOW,
                        progress=mark,
                    )  # fmt: skip
                    mark("done")
                total = time.perf_counter() - start
                out[run_name] = {
                    "seconds": round(total, 2),
                    "rows_per_s": int(n / total),
                    "validate_s": round(marks.get("load", 0.0) - marks.get("validate", 0.0), 2),
                    "load_s": round(marks["done"] - marks.get("load", 0.0), 2),
                    "loaded": report.rows_loaded,
                    "existing": report.rows_existing,
                    "rejected": report.rows_rejected,
                }
        db.dispose()
        return out
    finally:
        scratch.drop("prakerja_bench_lists")


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else None)))
