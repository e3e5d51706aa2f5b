"""Registration jobs: re-ask the civil registry about identities it did not answer for."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.kit import jobs
from prakerja.registration import service, service_lists, service_policy_diff
from prakerja.registration.model import Person


class RegistryStillUnavailable(RuntimeError):
    """Raised so the job runner retries later with backoff."""


@jobs.handler(service.RECHECK_JOB)
def recheck_registry(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Ask the registry again for a pending identity; idempotent (a settled person is left as
    it is). No answer again: raise, so the runner retries with backoff."""
    person = session.get(Person, int(payload["person_id"]))
    if person is None or person.registry_status != "pending":
        return
    if person.nik_enc is None or person.kk_enc is None or person.birth_date is None:
        return
    from prakerja.registration.registry import registry_client

    result = registry_client().verify(
        vault.decrypt_text(person.nik_enc),
        vault.decrypt_text(person.kk_enc),
        person.birth_date,
        None,
        None,
    )
    if result.status not in ("matched", "mismatch"):
        raise RegistryStillUnavailable("civil registry did not answer")
    service.apply_registry_result(
        session,
        person,
        status=result.status,
        fields=dict(result.fields),
        reference=result.reference,
        now=now,
    )


# Minutes per 10 M people (bench/bench_policy_diff.py): well past the default lease.
@jobs.handler(service_policy_diff.JOB, lease=dt.timedelta(hours=2))
def policy_diff(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Compute a queued policy diff preview and store it (a run already done stays as it is)."""
    service_policy_diff.compute(session, run_id=int(payload["run_id"]), now=now)


@jobs.handler(service_lists.UPLOAD_JOB, lease=dt.timedelta(hours=1))
def import_list_upload(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Import a large uploaded list file (a run already done or failed stays as it is)."""
    service_lists.run_upload(session, upload_id=int(payload["upload_id"]), now=now)
