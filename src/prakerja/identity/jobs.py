"""Identity housekeeping: a daily purge of spent codes, old failed logins and ended sessions.

Each table is purged by one set-based DELETE. A row goes only once it has stopped mattering for
`rules.RETENTION` (30 days): a code expired (and any lock it carries ended), a failed login
happened, a session was revoked or went idle. Nothing still in force (a rate-limit window, a
lock, a live session) is ever touched, so the job is idempotent and safe to run at any time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import CursorResult, Delete, delete, or_
from sqlalchemy.orm import Session

from prakerja.identity import rules
from prakerja.identity.model import LoginChallenge, LoginFailure, PhoneChallenge, WebSession
from prakerja.kit import jobs

log = structlog.get_logger("prakerja.identity.jobs")

PURGE = "identity.purge_expired"


def purge_statements(now: dt.datetime) -> dict[str, Delete]:
    """The DELETE per table for rows that ended more than RETENTION before `now`."""
    cutoff = now - rules.RETENTION
    return {
        "login_challenge": delete(LoginChallenge).where(LoginChallenge.expires_at < cutoff),
        "phone_challenge": delete(PhoneChallenge).where(
            PhoneChallenge.expires_at < cutoff,
            or_(PhoneChallenge.locked_until.is_(None), PhoneChallenge.locked_until < cutoff),
        ),
        "login_failure": delete(LoginFailure).where(LoginFailure.at < cutoff),
        "web_session": delete(WebSession).where(
            or_(
                WebSession.revoked_at < cutoff,
                WebSession.revoked_at.is_(None)
                & (WebSession.last_seen_at < cutoff - rules.SESSION_IDLE),
            )
        ),
    }


def purge_expired(session: Session, *, now: dt.datetime) -> dict[str, int]:
    """Delete what ended more than RETENTION ago; returns rows deleted per table."""
    counts: dict[str, int] = {}
    for table, stmt in purge_statements(now).items():
        result = session.execute(stmt.execution_options(synchronize_session=False))
        counts[table] = int(result.rowcount) if isinstance(result, CursorResult) else 0
    return counts


@jobs.handler(PURGE)
def purge_expired_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Scheduled daily: purge relative to the time the job runs (the payload is not needed)."""
    log.info("identity_purge", **purge_expired(session, now=now))


# Daily at 03:00 Jakarta time, the quietest hour of the portal.
jobs.every_day(PURGE, hour=3)
