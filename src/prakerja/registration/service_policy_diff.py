"""The policy diff preview as a background run: asked for on the page, computed by a job,
read back from `policy_diff_run`.

`service_eligibility.diff_preview` does the work (about 56,000 people a second on PostgreSQL:
bench/bench_policy_diff.py); at national size that is minutes, so the operator's request only
queues it. A stored report remembers the current policy and the draft's rules it was computed
from: when either has changed since, the page says so and offers to compute it again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.registration import policy
from prakerja.registration import service_eligibility as policies
from prakerja.registration.model_policy import PolicyDiffRun

JOB = "registration.policy_diff"
QUEUED, DONE, FAILED = "queued", "done", "failed"


def request(session: Session, *, version_id: int, actor: str, now: dt.datetime) -> PolicyDiffRun:
    """Queue a run for `version_id`; the one already queued for it if there is one (unless its
    job gave up: that run is marked failed and a new one queued)."""
    policies.get_version(session, version_id)  # 404 for an unknown version
    pending = session.scalar(
        select(PolicyDiffRun).where(
            PolicyDiffRun.version_id == version_id, PolicyDiffRun.status == QUEUED
        )
    )
    if pending is not None:
        if not gave_up(session, pending):
            return pending
        pending.status = FAILED
    run = PolicyDiffRun(version_id=version_id, status=QUEUED, requested_by=actor, requested_at=now)
    session.add(run)
    session.flush()
    run.job_id = jobs.enqueue(
        session, JOB, {"run_id": run.id}, key=f"policy-diff:{run.id}", now=now
    )
    return run


def gave_up(session: Session, run: PolicyDiffRun) -> bool:
    """Failed: marked so, or queued while its job spent its retries (it will not finish)."""
    if run.status == QUEUED:
        return jobs.gave_up(session, run.job_id)
    return run.status == FAILED


def state(session: Session, run: PolicyDiffRun | None) -> str:
    """What the page shows: none, queued, failed, done or done-stale."""
    if run is None:
        return "none"
    if gave_up(session, run):
        return FAILED
    if run.status == DONE and is_stale(session, run):
        return "done-stale"
    return run.status


def compute(session: Session, *, run_id: int, now: dt.datetime) -> PolicyDiffRun | None:
    """The job's work: the preview of the run's version against the policy current now,
    stored with what it was computed from. A run already done is left as it is."""
    run = session.get(PolicyDiffRun, run_id)
    if run is None or run.status != QUEUED:
        return run
    report = policies.diff_preview(session, draft_id=run.version_id, now=now)
    current, _ = policies.current_policy(session)
    draft = policies.get_version(session, run.version_id)
    run.report = to_json(report) | {
        "current_id": current.id,
        "current_rules": current.rules,
        "draft_rules": draft.rules,
    }
    run.status, run.finished_at = DONE, now
    return run


def latest(session: Session, version_id: int) -> PolicyDiffRun | None:
    """The newest run for `version_id`, queued or done."""
    return session.scalar(
        select(PolicyDiffRun)
        .where(PolicyDiffRun.version_id == version_id)
        .order_by(PolicyDiffRun.id.desc())
        .limit(1)
    )


def is_stale(session: Session, run: PolicyDiffRun) -> bool:
    """True when the current policy or the version's rules changed after the run computed."""
    if run.report is None:
        return False
    current, _ = policies.current_policy(session)
    draft = policies.get_version(session, run.version_id)
    return (current.id, current.rules, draft.rules) != (
        run.report.get("current_id"),
        run.report.get("current_rules"),
        run.report.get("draft_rules"),
    )


def to_json(report: policies.DiffReport) -> dict[str, Any]:
    return {
        "current_code": report.current_code,
        "draft_code": report.draft_code,
        "changes": [
            {"field": c.field, "before": _plain(c.before), "after": _plain(c.after)}
            for c in report.changes
        ],
        "total": report.total,
        "eligible_before": report.eligible_before,
        "eligible_after": report.eligible_after,
        "newly_eligible": report.newly_eligible,
        "newly_ineligible": report.newly_ineligible,
        "reasons_added": dict(report.reasons_added),
        "reasons_removed": dict(report.reasons_removed),
        "sample_newly_eligible": list(report.sample_newly_eligible),
        "sample_newly_ineligible": [[m, list(c)] for m, c in report.sample_newly_ineligible],
    }


def from_json(data: dict[str, Any]) -> policies.DiffReport:
    return policies.DiffReport(
        current_code=data["current_code"],
        draft_code=data["draft_code"],
        changes=tuple(
            policy.FieldChange(c["field"], c["before"], c["after"]) for c in data["changes"]
        ),
        total=data["total"],
        eligible_before=data["eligible_before"],
        eligible_after=data["eligible_after"],
        newly_eligible=data["newly_eligible"],
        newly_ineligible=data["newly_ineligible"],
        reasons_added=Counter(data["reasons_added"]),
        reasons_removed=Counter(data["reasons_removed"]),
        sample_newly_eligible=list(data["sample_newly_eligible"]),
        sample_newly_ineligible=[(m, tuple(c)) for m, c in data["sample_newly_ineligible"]],
    )


def _plain(value: Any) -> Any:
    """JSON-ready: sets and tuples as sorted lists."""
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value
