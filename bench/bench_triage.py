"""Triage speed: batch throughput over 50,000 messages and single-message p99 latency.

Targets (DESIGN.md, one 2-core machine): >= 20,000 messages/s in batch, p99 < 20 ms for one.
The batch is split over the machine's cores with joblib (one process per core). On a shared,
loaded machine wall-clock rates understate the code, so the CPU-time rate of one process and the
1-minute load average are reported too.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

from joblib import Parallel, delayed

from prakerja.feedback.registry import seed_model, seed_records

BATCH = 50_000
SINGLES = 2_000


def _messages(n: int) -> list[str]:
    rng = random.Random(7)
    texts = [r.text for r in seed_records()]
    tails = ["", " min", " tolong", " 🙏", " udh lama", " gmn nih", "!!", " #prakerja"]
    return [rng.choice(texts) + rng.choice(tails) for _ in range(n)]


def _predict_chunk(chunk: list[str]) -> int:
    return len(seed_model().predict(chunk))


def _batch(texts: list[str], workers: int) -> float:
    chunk = 2_000
    parts = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    with Parallel(n_jobs=workers) as pool:
        pool(delayed(_predict_chunk)(parts[0]) for _ in range(workers))  # warm each worker
        start = time.perf_counter()
        done = sum(pool(delayed(_predict_chunk)(p) for p in parts))
        return done / (time.perf_counter() - start)


def _cpu_rate(texts: list[str]) -> float:
    """Messages per CPU-second in this process: the capacity of one core, whatever the load."""
    model = seed_model()
    model.predict(texts[:1_000])
    start = time.process_time()
    model.predict(texts)
    return len(texts) / (time.process_time() - start)


def _single_p99(texts: list[str]) -> tuple[float, float]:
    model = seed_model()
    model.predict(texts[:10])
    times = []
    for text in texts[:SINGLES]:
        start = time.perf_counter()
        model.predict([text])
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000


def run() -> dict[str, Any]:
    """Measured batch throughput (messages/s) and single-message latency (ms)."""
    texts = _messages(BATCH)
    workers = os.cpu_count() or 1
    start = time.perf_counter()
    seed_model()
    train_s = time.perf_counter() - start
    one_core = _batch(texts[:10_000], 1)
    per_cpu_s = _cpu_rate(texts[:20_000])
    rate = _batch(texts, workers)
    p50, p99 = _single_p99(texts)
    return {
        "bench": "triage",
        "messages": BATCH,
        "workers": workers,
        "seed_model_train_s": round(train_s, 2),
        "batch_msgs_per_s": round(rate),
        "batch_msgs_per_s_one_core": round(one_core),
        "msgs_per_cpu_second": round(per_cpu_s),
        "capacity_all_cores_msgs_per_s": round(per_cpu_s * workers),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "single_p50_ms": round(p50, 3),
        "single_p99_ms": round(p99, 3),
        "targets": {"batch_msgs_per_s": 20_000, "single_p99_ms": 20.0},
    }


if __name__ == "__main__":
    print(json.dumps(run()))
