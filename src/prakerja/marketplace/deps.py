"""`PartnerAuth`: the FastAPI dependency that admits a signed partner request.

It verifies the HMAC over the raw body before any route code runs; a missing, wrong, stale or
replayed signature is a 401 problem+json and the transaction is rolled back, so nothing changes.
Other contexts' partner routes use it the same way: `partner: PartnerAuth`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from prakerja.kit.clock import utc_now
from prakerja.kit.routing import DbSession
from prakerja.marketplace import rules, service_partner
from prakerja.marketplace.model import Partner
from prakerja.marketplace.signing import (
    CLIENT_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)


async def _raw_body(request: Request) -> bytes:
    return await request.body()  # Starlette caches it, so the route's body model still parses


def _partner(
    request: Request, session: DbSession, body: Annotated[bytes, Depends(_raw_body)]
) -> Partner:
    headers = request.headers
    client_id = headers.get(CLIENT_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (client_id and timestamp and signature):
        raise rules.BadSignature("X-Client-Id, X-Timestamp and X-Signature are required")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    partner = service_partner.authenticate(
        session,
        client_id=client_id,
        timestamp=timestamp,
        signature=signature,
        nonce=headers.get(NONCE_HEADER, ""),
        method=request.method,
        path=path,
        body=body,
        now=utc_now(),
    )
    request.state.partner_id = partner.id
    return partner


PartnerAuth = Annotated[Partner, Depends(_partner)]
