"""JSON API for programme policy: the current rules are public so anyone can read them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from prakerja.identity.deps import require_staff
from prakerja.identity.model import Account
from prakerja.identity.schemas import problems
from prakerja.kit.routing import DbSession, new_router
from prakerja.registration import policy
from prakerja.registration import service_eligibility as service
from prakerja.registration.model_policy import PolicyVersion

router = new_router(prefix="/api/v1/policy", tags=["policy"])
versions_reader = require_staff("operator", "analyst", "auditor")


def _version(version: PolicyVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "code": version.code,
        "scheme": version.scheme,
        "status": version.status,
        "published_at": version.published_at.isoformat() if version.published_at else None,
        "rules": version.rules,
    }


@router.get("")
def current(session: DbSession) -> dict[str, Any]:
    """The policy in force now: the newest published version, else the "2023+" preset."""
    version, rules = service.current_policy(session)
    body = _version(version)
    body["rules"] = policy.rules_to_json(rules)
    return body


@router.get("/versions", responses=problems(401, 403))
def versions(
    session: DbSession, staff: Annotated[Account, Depends(versions_reader)]
) -> list[dict[str, Any]]:
    """Every version, newest first (staff only)."""
    return [_version(v) | {"created_by": v.created_by} for v in service.list_versions(session)]
