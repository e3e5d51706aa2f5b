"""`make bench`: run every bench/bench_*.py `run()` and print one JSON line per benchmark.

Select some with `python -m bench draw nik` (substring match on the module name).
Results are also appended to var/bench-results.jsonl with the date and machine facts, so
docs/benchmarks.md can be updated from measured numbers only.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from rich.console import Console

import bench


def main(argv: list[str]) -> int:
    console = Console(stderr=True)
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    out = Path("var/bench-results.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    failed = 0
    for name in names:
        console.rule(name)
        started = time.perf_counter()
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except Exception as exc:  # report and go on with the other benchmarks
            console.print(f"[red]{name} failed: {type(exc).__name__}: {exc}[/red]")
            failed += 1
            continue
        row = {
            "bench": name,
            "date": dt.datetime.now(dt.UTC).date().isoformat(),
            **machine,
            "wall_s": round(time.perf_counter() - started, 2),
            "result": result,
        }
        line = json.dumps(row, default=str)
        print(line, flush=True)
        with out.open("a") as fh:
            fh.write(line + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
