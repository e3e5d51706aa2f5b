"""Benchmark: a synthetic 6.7-million-applicant wave over 514 kabupaten/kota, 800,000 places.

Target (issue 3): the draw itself under 10 s and under 3 GB peak memory on a 2-core machine.
Run: `python -m bench.bench_draw [applicants] [places]`; prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from prakerja.selection import simulate


def run(applicants: int = 6_700_000, places: int = 800_000, seed: int = 2020) -> dict[str, Any]:
    """The simulate report of one synthetic draw, plus whether it met the targets."""
    report = simulate.run(applicants, seed, places=places)
    report["target_met"] = report["seconds"]["draw"] < 10 and report["peak_rss_mib"] < 3 * 1024
    report["load_avg_1m"] = round(os.getloadavg()[0], 2)  # wall time is only meaningful with it
    return report


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(run(*args), sort_keys=True))
