"""Learning jobs: the daily course-quality rollup (idempotent: a full rebuild)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.learning import service_quality

REFRESH_QUALITY = "learning.refresh_quality"


@jobs.handler(REFRESH_QUALITY)
def refresh_quality(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    service_quality.refresh_quality(session, now=now)


jobs.every_day(REFRESH_QUALITY, 2)
