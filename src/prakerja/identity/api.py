"""Identity JSON API: register, two-step login, logout, who am I."""

from __future__ import annotations

from fastapi import Request, Response

from prakerja.identity import service
from prakerja.identity.deps import CurrentAccount
from prakerja.identity.model import Account
from prakerja.identity.schemas import (
    AccountRead,
    ChallengeOut,
    CodeIn,
    LoginIn,
    LoginOut,
    RegisterIn,
    RegisterOut,
    problems,
)
from prakerja.identity.views import client_ip, set_session_cookie
from prakerja.kit.clock import utc_now
from prakerja.kit.routing import DbSession, new_router

router = new_router(prefix="/api/v1", tags=["identity"])


@router.post("/auth/register", status_code=201, responses=problems(400, 409, 422))
def register(body: RegisterIn, session: DbSession) -> RegisterOut:
    """Create a citizen account; a confirmation link is emailed."""
    account = service.register_account(
        session, email=body.email, password=body.password, language=body.language, now=utc_now()
    )
    return RegisterOut(account_id=account.id, email=account.email)


@router.post("/auth/login", status_code=202, responses=problems(400, 401, 422, 429))
def login(body: LoginIn, request: Request, session: DbSession) -> ChallengeOut:
    """Step 1: check the password; a 6-digit code is emailed."""
    with service.counting_refusals(session):
        challenge = service.start_login(
            session, email=body.email, password=body.password, ip=client_ip(request), now=utc_now()
        )
    return ChallengeOut(challenge_id=challenge)


@router.post("/auth/login/code", responses=problems(400, 401, 422, 429))
def login_code(body: CodeIn, request: Request, response: Response, session: DbSession) -> LoginOut:
    """Step 2: the emailed code; sets the `pk_session` cookie."""
    with service.counting_refusals(session):
        web = service.complete_login(
            session, challenge_id=body.challenge_id, code=body.code, now=utc_now()
        )
    set_session_cookie(request, response, web.token)
    return LoginOut(account_id=web.account_id)


@router.post("/auth/logout", status_code=204, responses=problems(401))
def logout(request: Request, session: DbSession, account: CurrentAccount) -> Response:
    """End this session (the cookie's)."""
    service.logout(session, token=request.cookies.get(service.COOKIE, ""), now=utc_now())
    response = Response(status_code=204)
    response.delete_cookie(service.COOKIE, path="/")
    return response


def read_account(account: Account) -> AccountRead:
    """The API view of an account."""
    return AccountRead(
        id=account.id,
        public_id=account.public_id,
        email=account.email,
        kind=account.kind,
        roles=account.role_list,
        language=account.language,
        email_verified=account.email_verified_at is not None,
        phone=account.phone,
    )


@router.get("/me", responses=problems(401))
def me(account: CurrentAccount) -> AccountRead:
    """The logged-in account."""
    return read_account(account)
