"""A citizen cannot read or change another citizen's data through any route.

Driven by the app's own route table, so a new route is covered (or refused by this test until
it is classified) without anyone remembering to add it here:

* every route is classified from its FastAPI dependencies: staff (`require_staff`), partner
  (the signed-request dependency), citizen (`CurrentCitizen`/`CurrentAccount`), or public,
  and a public route must be listed in PUBLIC_ROUTES with the reason it is public;
* every path parameter is filled from `params_of` with citizen A's value (A's order,
  certificate, attempt, ticket ...); a parameter it does not know fails the test, and so does
  a JSON body `bodies_of` has no example for, or a table not classified below;
* citizen B, far along the same journey, calls every route with every method (B's session
  cookie, B's CSRF token on forms, and bodies carrying A's identifiers where a body can name
  a record), and after each route the rows that belong to A, and the shared tables, must be
  exactly as they were; no response may carry A's personal data or identifiers that B did not
  send. Staff routes must answer B with 403, partner routes with 401, citizen routes naming
  one of A's records with 403 or 404, and methods no route serves with a refusal.

B's own records, through the same routes, are the control: they are served.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, true
from sqlalchemy.sql.elements import ColumnElement
from starlette.routing import Mount, Route

from prakerja.feedback import service_ticket
from prakerja.feedback.intake_rules import Incoming
from prakerja.feedback.model import Message, Ticket
from prakerja.feedback.service_intake import ingest
from prakerja.identity import vault
from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit import jobs
from prakerja.kit.clock import utc_now
from prakerja.kit.db import Base, Database, new_id
from prakerja.kit.web import LANG_COOKIE
from prakerja.learning import service_completion
from prakerja.learning.model import Certificate
from prakerja.learning.service_enrolment import issue_redeem_codes
from prakerja.marketplace import service_order, service_purchase
from prakerja.marketplace.model import Order, Partner
from prakerja.registration import service_assessment
from prakerja.registration.model import Person
from prakerja.registration.nik import mask_nik
from prakerja.registration.service_eligibility import current_policy
from prakerja.selection import service as waves
from prakerja.selection import service_review
from prakerja.sim.face import sample_image
from prakerja.wallet import service_card
from tests.fixtures_sim import pointed_at
from tests.learning.conftest import NOW as LEARNING_NOW
from tests.learning.conftest import (
    Setup,
    attend,
    make_setup,
    signing_keys,  # noqa: F401  (throw-away certificate keys)
)
from tests.marketplace.conftest import sms_code
from tests.registration.conftest import form_token
from tests.registration.factories_eligibility import kk as make_kk
from tests.registration.factories_eligibility import nik as make_nik
from tests.registration.test_assessment_service import STATEMENT, right_answers
from tests.selection.wave_factories import NOW as WAVE_NOW
from tests.selection.wave_factories import add_application, add_person, open_committed, plan
from tests.wallet.card_factories import application_id

START = LEARNING_NOW + dt.timedelta(days=2)  # the course's first session
STEPS_BEFORE_STATEMENT = ("identity", "profile", "ktp", "face", "phone")
REFUSED = frozenset({401, 403, 404, 405, 409, 422})
#: What a citizen route answers when the record it names is someone else's. Stricter than
#: REFUSED on purpose: a 409 or 422 may come before the route looked at whose record it is.
NOT_YOURS = frozenset({403, 404})
EVERY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CSRF_FAILED = "The form expired"

# --- which dependency makes a route what --------------------------------------------------------

STAFF_DEP = "prakerja.identity.deps.require_staff.<locals>._staff"
PARTNER_DEP = "prakerja.marketplace.deps._partner"
CITIZEN_DEPS = {
    "prakerja.identity.deps._current_citizen",
    "prakerja.identity.deps._current_account",
}
STAFF, PARTNER, CITIZEN, PUBLIC = "staff", "partner", "citizen", "public"

#: Routes anyone may call, and why. They are still called as B with A's values and must not
#: return A's personal data or change A's rows.
PUBLIC_ROUTES: dict[str, str] = {
    "/": "home page, static text",
    "/healthz": "load balancer health check, answers {'status': 'ok'}",
    "/dev/inbox": "dev/demo mail and SMS viewer; production settings refuse dev_inbox, so it is "
    "checked here as production runs it (404)",
    "/static": "CSS and other static files",
    "/api/openapi.json": "the API description",
    "/api/docs": "the API reference, rendered from the OpenAPI schema",
    "/api/v1/auth/register": "sign-up",
    "/api/v1/auth/login": "login, step 1",
    "/api/v1/auth/login/code": "login, step 2 (the challenge id and emailed code are the proof)",
    "/api/v1/policy": "the published eligibility policy is public",
    "/api/v1/waves": "waves are public (transparency of the draw)",
    "/api/v1/waves/{code}": "a wave's public record: commitment, seed, hashes, counts",
    "/api/v1/waves/{code}/outcome": "the outcome for a receipt: status and reason codes only",
    "/api/v1/courses": "the catalogue",
    "/api/v1/certificates/{public_id}/verify": "certificate verification by anyone (masked name)",
    "/api/v1/certificates/verify-badge": "badge verification by anyone (true/false)",
    "/.well-known/prakerja-keys.json": "the public signing keys",
    "/.well-known/prakerja-keys/{kid}": "one public signing key (a badge's verificationMethod)",
    "/register": "sign-up",
    "/verify-email": "the emailed confirmation link (its token is the proof)",
    "/login": "login, step 1",
    "/login/code": "login, step 2",
    "/logout": "ends the caller's own session (the cookie's), if there is one",
    "/password/forgot": "asks for a reset link to an address (sent only to that address)",
    "/password/reset": "the emailed reset link (its token is the proof)",
    "/staff/login": "staff login",
    "/waves/{code}": "a wave's public page, with the receipt check",
    "/waves/{code}/files/{name}": "a drawn wave's published pool and parameter files",
    "/courses": "the catalogue (a signed-in citizen also sees their balance)",
    "/courses/{public_id}": "a course page (a signed-in citizen also sees their balance)",
    "/certificates/{public_id}": "certificate verification page (masked name)",
    "/complaints/new": "complaints are taken from anyone; signed in, they are the citizen's own",
    "/complaints/survey/{token}": "the satisfaction survey link emailed with a resolution; the "
    "token is the credential, so B is given a token that is not A's",
    "/kamu-bilang-kami-perbaiki": "public 'you said, we fixed' page (aggregates only)",
}

# --- the tables: whose rows they are -------------------------------------------------------------

#: Tables any request may change, and why they are not compared.
EXCLUDED_TABLES: dict[str, str] = {
    "audit_log": "append-only, hash-chained log: B's own actions add entries",
    "login_failure": "login rate-limit counter (by address and IP), written by refused logins",
    "partner_seen_signature": "replay cache of partner signatures",
    "job": "the work queue: B's own actions (a complaint, an SMS) enqueue work; what a job would "
    "do to A's rows is A's rows, which are compared",
}

#: Tables that belong to nobody in particular: compared whole (no citizen may change them).
SHARED_TABLES = frozenset(
    {
        "course",
        "course_batch_seats",
        "course_session",
        "feedback_canned_reply",
        "feedback_incident",
        "feedback_routing_rule",
        "learning_course_quality",
        "list_import",
        "listed_person",
        "partner",
        "partner_credential",
        "partner_status_change",
        "policy_diff_run",
        "list_upload",
        "list_upload_part",
        "policy_version",
        "region",
        "region_population",
        "wave",
        "wave_quota",
        "webhook_delivery",
    }
)


@dataclass
class Citizen:
    """One citizen far along the journey: everything a route could name."""

    account_id: int
    account_public_id: str
    person_id: int
    email: str
    phone: str
    full_name: str
    nik: str
    kk: str
    address: str
    mother_name: str
    token: str
    attempt_id: int
    receipt: str
    manual_review_id: int
    card_id: int
    card_number: str
    ledger_account_id: int
    order_id: int
    order_public_id: str
    purchase_key: str
    voucher_code: str
    redeem_codes: list[str]
    certificate_id: str
    ticket_id: int
    ticket_public_id: str
    ticket_subject: str
    ticket_text: str
    message_id: int
    csat_token: str

    def markers(self) -> dict[str, str]:
        """What must never reach another citizen: personal data and private identifiers."""
        grouped = " ".join(self.card_number[i : i + 4] for i in range(0, 16, 4))
        found = {
            "email": self.email,
            "phone": self.phone,
            "phone digits": self.phone[3:],
            "full name": self.full_name,
            "NIK": self.nik,
            "KK": self.kk,
            "address": self.address,
            "mother's name": self.mother_name,
            "account id": self.account_public_id,
            "card number": self.card_number,
            "card number (grouped)": grouped,
            "receipt": self.receipt,
            "order id": self.order_public_id,
            "purchase key": self.purchase_key,
            "voucher": self.voucher_code,
            "certificate id": self.certificate_id,
            "ticket id": self.ticket_public_id,
            "complaint subject": self.ticket_subject,
            "complaint text": self.ticket_text,
            "survey token": self.csat_token,
        }
        found.update({f"redeem code {i}": c for i, c in enumerate(self.redeem_codes)})
        return found


@dataclass
class World:
    setup: Setup
    wave_code: str
    a: Citizen
    b: Citizen


# --- seeding, through the services ---------------------------------------------------------------


def _registered(db: Database, name: str, serial: int) -> tuple[int, int, str]:
    """A person with every registration step done; statement and test through their service."""
    nik, kk = make_nik(serial), make_kk(serial)
    with db.transaction() as s:
        person = add_person(
            s,
            complete=False,
            full_name=name,
            address=f"Jl. {name.split()[0]}wangi No. {serial}, Bogor",
            mother_name_enc=vault.encrypt_text(f"Ibu {name.split()[1]}"),
            nik_enc=vault.encrypt_text(nik),
            kk_enc=vault.encrypt_text(kk),
        )
        person.nik_bidx, person.nik_masked = vault.blind_index(nik, "nik"), mask_nik(nik)
        person.kk_bidx = vault.blind_index(kk, "kk")
        for step in STEPS_BEFORE_STATEMENT:
            setattr(person, f"{step}_done_at", WAVE_NOW)
        s.flush()
        rules = current_policy(s)[1]
        service_assessment.save_statement(s, person_id=person.id, answers=STATEMENT, now=WAVE_NOW)
        attempt = service_assessment.start_test(s, person_id=person.id, now=WAVE_NOW, rules=rules)
        service_assessment.submit_test(
            s,
            person_id=person.id,
            attempt_id=attempt.id,
            answers=right_answers(attempt, len(attempt.question_ids)),
            now=WAVE_NOW,
            rules=rules,
        )
        return person.id, attempt.id, nik


def _in_waves(db: Database, account_id: int, person_id: int, wave_id: int) -> tuple[str, int]:
    """Joined the open wave; three earlier waves missed, so a manual review is pending."""
    with db.transaction() as s:
        joined = waves.join_wave(
            s, account_id=account_id, wave_id=wave_id, consent=True, now=WAVE_NOW
        )
        for _ in range(3):
            add_application(s, plan(s).id, person_id, "not_selected", at=WAVE_NOW)
        review = service_review.request_review(s, account_id=account_id, now=WAVE_NOW)
        return joined.receipt, review.id


def _bought(db: Database, setup: Setup, account_id: int, card_number: str) -> tuple[str, str]:
    """The course bought with the SMS code and confirmed by the platform: (order id, key)."""
    key = uuid.uuid4().hex
    with db.transaction() as s:
        account = s.get(Account, account_id)
        assert account is not None
        assert account.phone is not None
        order = service_purchase.start_purchase(
            s,
            account_id=account_id,
            course_public_id=setup.course_public_id,
            card_number=card_number,
            key=key,
            now=LEARNING_NOW,
        )
        service_purchase.confirm_purchase(
            s,
            account_id=account_id,
            order_public_id=order.public_id,
            code=sms_code(s, account.phone),
            now=LEARNING_NOW,
        )
        platform = s.get(Partner, setup.platform_id)
        assert platform is not None
        service_order.confirm_order(
            s, partner=platform, order_public_id=order.public_id, now=LEARNING_NOW
        )
        return order.public_id, key


def _learned(db: Database, setup: Setup, order_id: int, order_public_id: str) -> list[str]:
    """Every session redeemed, face-checked and reported; completed, so a certificate exists
    and the mandatory review is pending. Returns the redeem codes."""
    with db.transaction() as s:
        codes = {c.session_id: c.code for c in issue_redeem_codes(s, order_id=order_id, now=START)}
    for day, sid in enumerate(setup.session_ids):
        at = START + dt.timedelta(days=day)
        attend(db, setup, (order_id, order_public_id), sid, at)
    with db.transaction() as s:
        service_completion.record_completion(
            s,
            order_id=order_id,
            pre_score=40,
            post_score=85,
            partner_id=setup.platform_id,
            now=START + dt.timedelta(days=len(setup.session_ids)),
        )
    return list(codes.values())


def _complained(db: Database, account_id: int, email: str, name: str) -> tuple[int, int, str, str]:
    """A complaint from the citizen, answered and resolved by the desk (survey link sent)."""
    subject, text = (
        f"Saldo {name} tidak bertambah",
        f"Kartu milik {name} belum bisa dipakai membeli",
    )
    now = utc_now()
    with db.transaction() as s:
        msg, _ = ingest(
            s,
            Incoming(
                channel="web",
                source_id=f"web:{new_id()}",
                received_at=now,
                body=text,
                subject=subject,
                author_email=email,
                account_id=account_id,
            ),
            now=now,
        )
        assert msg.ticket_id is not None
        ticket = service_ticket.resolve(
            s, ticket_id=msg.ticket_id, agent_id=None, code="explained", now=now
        )
        assert ticket.csat_token is not None
        return ticket.id, msg.id, ticket.public_id, ticket.csat_token


def far_along(db: Database, setup: Setup, wave_id: int, name: str, serial: int) -> Citizen:
    person_id, attempt_id, nik = _registered(db, name, serial)
    with db.transaction() as s:
        person = s.get(Person, person_id)
        assert person is not None
        account = s.get(Account, person.account_id)
        assert account is not None
        assert account.phone is not None
        account_id, email, phone, public_id = (
            account.id,
            account.email,
            account.phone,
            account.public_id,
        )
        address, full_name = person.address or "", person.full_name or ""
    receipt, review_id = _in_waves(db, account_id, person_id, wave_id)
    with db.transaction() as s:
        card = service_card.issue_card(
            s,
            application_id=application_id(person_id, wave_id),
            person_id=person_id,
            wave_id=wave_id,
            policy_version_id=None,
            now=LEARNING_NOW,
        )
        card_id, card_number, ledger = card.id, card.number, card.ledger_account_id
        assert ledger is not None
    order_public_id, key = _bought(db, setup, account_id, card_number)
    with db.transaction() as s:
        order = s.scalars(select(Order).where(Order.public_id == order_public_id)).one()
        order_id, voucher = order.id, order.voucher_code or ""
    codes = _learned(db, setup, order_id, order_public_id)
    ticket_id, message_id, ticket_public_id, csat = _complained(db, account_id, email, full_name)
    with db.transaction() as s:
        cert = s.scalars(select(Certificate).where(Certificate.order_id == order_id)).one()
        ticket = s.get(Ticket, ticket_id)
        message = s.get(Message, message_id)
        assert ticket is not None
        assert message is not None
        token = open_session(s, account_id=account_id, ip="127.0.0.1", now=utc_now()).token
        return Citizen(
            account_id=account_id,
            account_public_id=public_id,
            person_id=person_id,
            email=email,
            phone=phone,
            full_name=full_name,
            nik=nik,
            kk=make_kk(serial),
            address=address,
            mother_name=f"Ibu {full_name.split()[1]}",
            token=token,
            attempt_id=attempt_id,
            receipt=receipt,
            manual_review_id=review_id,
            card_id=card_id,
            card_number=card_number,
            ledger_account_id=ledger,
            order_id=order_id,
            order_public_id=order_public_id,
            purchase_key=key,
            voucher_code=voucher,
            redeem_codes=codes,
            certificate_id=cert.public_id,
            ticket_id=ticket_id,
            ticket_public_id=ticket_public_id,
            ticket_subject=ticket.subject,
            ticket_text=message.body,
            message_id=message_id,
            csat_token=csat,
        )


@pytest.fixture
def world(db: Database) -> World:
    with db.transaction() as s:
        setup = make_setup(s, starts=[START, START + dt.timedelta(days=1)], mode="self_paced")
        wave = open_committed(s, cells=["32.01"], places=10)
        wave_id, wave_code = wave.id, wave.code
    a = far_along(db, setup, wave_id, "Anindya Kusumawardani", 7101)
    b = far_along(db, setup, wave_id, "Bagus Prasetyo", 7102)
    return World(setup, wave_code, a, b)


# --- the route table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A value for a path parameter: `owned` when it names one citizen's record."""

    value: str
    owned: bool


def params_of(c: Citizen, w: World, extra: dict[str, str]) -> dict[str, dict[str, Param]]:
    """Path parameter name -> {path prefix: value}, the longest matching prefix wins. A name (or
    a prefix) missing here fails the test: a new route's parameters must be classified."""

    def mine(value: object) -> Param:
        return Param(str(value), owned=True)

    def shared(value: object) -> Param:
        return Param(str(value), owned=False)

    certificate = mine(c.certificate_id)
    return {
        "attempt_id": {"/": mine(c.attempt_id)},
        "order_id": {"/": mine(c.order_public_id)},
        "public_id": {
            "/courses/": shared(w.setup.course_public_id),
            "/orders/": mine(c.order_public_id),
            "/complaints/": mine(c.ticket_public_id),
            "/learning/certificates/": certificate,
            "/certificates/": certificate,
            "/api/v1/certificates/": certificate,
        },
        "session_id": {"/": shared(w.setup.session_ids[0])},  # with the order it names
        "course_id": {
            "/api/partner/": shared(w.setup.course_public_id),
            "/admin/courses/": shared(w.setup.course_id),
        },
        "code": {
            "/api/v1/waves/": shared(w.wave_code),
            "/waves/": shared(w.wave_code),
            "/admin/waves/": shared(w.wave_code),
            "/api/partner/v1/vouchers/": mine(c.voucher_code),
        },
        "action": {"/": shared("close")},
        "kid": {"/.well-known/": shared("0" * 16)},
        "name": {"/waves/": shared("params.json")},
        "ticket_id": {"/api/v1/feedback/": mine(c.ticket_public_id), "/desk/": mine(c.ticket_id)},
        "message_id": {"/desk/": mine(c.message_id)},
        "review_id": {"/admin/reviews/": mine(c.manual_review_id)},
        "job_id": {"/admin/jobs/": shared(extra["job_id"])},
        "version_id": {"/admin/policy/": shared(extra["policy_version_id"])},
        "import_id": {"/admin/lists/": shared(1)},
        "upload_id": {"/admin/lists/uploads/": shared(1)},
        "partner_id": {"/admin/partners/": shared(w.setup.platform_id)},
        "incident_id": {"/desk/incidents/": shared(1)},
        # the survey link's token is its credential: B holds one that is not A's
        "token": {"/complaints/survey/": shared(c.csat_token[::-1])},
    }


#: Query parameters that name one citizen's record.
def query_of(c: Citizen) -> dict[str, str]:
    return {"receipt": c.receipt}


#: JSON bodies of the citizen and public API routes that take one, by endpoint, with A's
#: identifiers wherever a body can name a record. A new route with a body must be added here.
def bodies_of(c: Citizen, w: World) -> dict[str, dict[str, Any]]:
    return {
        "prakerja.identity.api.register": {
            "email": f"new{uuid.uuid4().hex[:8]}@example.id",
            "password": "a long enough passphrase 2026",
            "language": "id",
        },
        "prakerja.identity.api.login": {"email": "nobody@example.id", "password": "x" * 12},
        "prakerja.identity.api.login_code": {"challenge_id": new_id(), "code": "123456"},
        "prakerja.registration.api.submit_identity": {
            "nik": c.nik,
            "kk": c.kk,
            "birth_date": "1995-05-15",
        },
        "prakerja.registration.api.save_profile": {
            "full_name": "Nama Lain",
            "mother_name": "Ibu Lain",
            "address": "Jl. Lain No. 1",
            "domicile_regency_code": "32.01",
            "village_type": "urban",
            "education": "sma",
            "marital_status": "single",
            "dependants": 0,
            "employment_status": "unemployed",
            "occupation": "none",
        },
        "prakerja.registration.api.start_phone": {"phone": c.phone},
        "prakerja.registration.api.confirm_phone": {"code": "123456"},
        "prakerja.registration.api_assessment.submit": {"answers": {}},
        "prakerja.selection.api.join": {"consent": True},
        "prakerja.marketplace.api.start_order": {
            "course_id": w.setup.course_public_id,
            "card_number": c.card_number,
            "idempotency_key": c.purchase_key,
        },
        "prakerja.marketplace.api.confirm_code": {"code": "123456"},
        "prakerja.learning.api.give_review": {
            "order_id": c.order_public_id,
            "stars": 1,
            "text": "Review written by someone else",
        },
        "prakerja.feedback.api.post_complaint": {
            "subject": f"Re: [#{c.ticket_public_id}] saldo",
            "text": "Someone else writing on this ticket",
        },
    }


def form_of(c: Citizen, w: World) -> dict[str, str]:
    """The fields of every HTML form, with A's identifiers where a form can name a record."""
    return {
        "order_id": c.order_public_id,
        "card_number": c.card_number,
        "key": c.purchase_key,
        "code": "123456",
        "stars": "1",
        "text": "Written by someone else",
        "subject": f"Re: [#{c.ticket_public_id}] saldo",
        "consent": "yes",
        "blink": "yes",
        "score": "1",
        "decision": "approved",
        "note": "n",
        "to": "active",
        "verdict": "approve",
    }


@dataclass
class Target:
    """One route as the test sees it."""

    path: str
    methods: frozenset[str]
    kind: str
    endpoint: str = ""
    route: APIRoute | None = None
    names: tuple[str, ...] = ()

    @property
    def html(self) -> bool:
        return not self.path.startswith(("/api/", "/.well-known/"))


def _calls(route: APIRoute) -> set[str]:
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if dep.call is not None:
            found.add(f"{dep.call.__module__}.{dep.call.__qualname__}")
        stack.extend(dep.dependencies)
    return found


def _kind(calls: set[str]) -> str:
    if STAFF_DEP in calls:
        return STAFF
    if PARTNER_DEP in calls:
        return PARTNER
    if calls & CITIZEN_DEPS:
        return CITIZEN
    return PUBLIC


def targets(app: FastAPI) -> list[Target]:
    """Every route of the app (APIRoute, plain Route, Mount), classified."""
    found: list[Target] = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            endpoint = f"{route.endpoint.__module__}.{route.endpoint.__name__}"
            found.append(
                Target(
                    ctx.path,
                    frozenset(ctx.methods or ()),
                    _kind(_calls(route)),
                    endpoint,
                    route,
                    tuple(route.param_convertors),
                )
            )
        elif isinstance(route, Route):
            found.append(Target(route.path, frozenset(route.methods or ()), PUBLIC))
        elif isinstance(route, Mount):
            found.append(Target(route.path, frozenset({"GET", "HEAD"}), PUBLIC))
        else:
            raise AssertionError(f"unknown kind of route: {route!r}")
    return found


def classification_problems(found: list[Target], params: dict[str, dict[str, Param]]) -> list[str]:
    problems = []
    for t in found:
        if t.kind == PUBLIC and t.path not in PUBLIC_ROUTES:
            problems.append(
                f"{t.path}: no login needed, but not listed in PUBLIC_ROUTES with a reason"
            )
        if t.kind != PUBLIC and t.path in PUBLIC_ROUTES:
            problems.append(f"{t.path}: listed in PUBLIC_ROUTES but needs a {t.kind} login")
        staffish = t.path.startswith(("/admin", "/desk", "/staff")) and t.path != "/staff/login"
        if staffish and t.kind != STAFF:
            problems.append(f"{t.path}: a staff path that does not require staff")
        if t.path.startswith("/api/partner/") and t.kind != PARTNER:
            problems.append(f"{t.path}: a partner path without the signature check")
        for name in t.names:
            try:
                fill(t.path, name, params)
            except KeyError as exc:
                problems.append(str(exc.args[0]))
    paths = {t.path for t in found}
    problems += [
        f"PUBLIC_ROUTES lists {p}, which is no longer a route"
        for p in PUBLIC_ROUTES
        if p not in paths
    ]
    return problems


def fill(path: str, name: str, params: dict[str, dict[str, Param]]) -> Param:
    choices = params.get(name)
    if choices is None:
        raise KeyError(f"{path}: path parameter {name!r} is not in params_of; classify it")
    prefixes = sorted((p for p in choices if path.startswith(p)), key=len, reverse=True)
    if not prefixes:
        raise KeyError(f"{path}: no value for {name!r} under this path in params_of; classify it")
    return choices[prefixes[0]]


def url_of(t: Target, params: dict[str, dict[str, Param]]) -> tuple[str, bool]:
    """The route's URL with A's values, and whether it names one of A's records."""
    if t.path == "/static":
        return "/static/app.css", False
    url, owned = t.path, False
    for name in t.names:
        value = fill(t.path, name, params)
        url = re.sub(r"\{" + name + r"(:[^}]*)?\}", value.value, url)
        owned = owned or value.owned
    return url, owned


# --- what belongs to A, and how it looked -------------------------------------------------------


def owned_rows(c: Citizen) -> dict[str, ColumnElement[bool]]:
    """Per table, the rows that are citizen `c`'s (looked up afresh at each snapshot, so a row
    someone else attaches to A's records counts as A's)."""
    t = Base.metadata.tables

    def col(table: str, name: str) -> Any:
        return t[table].c[name]

    ledger = c.ledger_account_id
    tickets = select(col("feedback_ticket", "id")).where(
        (col("feedback_ticket", "account_id") == c.account_id)
        | (col("feedback_ticket", "person_id") == c.person_id)
    )
    messages = select(col("feedback_message", "id")).where(
        (col("feedback_message", "account_id") == c.account_id)
        | (col("feedback_message", "person_id") == c.person_id)
        | col("feedback_message", "ticket_id").in_(tickets)
    )
    orders = select(col("market_order", "id")).where(col("market_order", "card_id") == c.card_id)
    by_person = ("ability_test_attempt", "application", "manual_review", "card")
    by_order = ("learning_attendance", "learning_redeem_code")
    by_order_or_person = ("learning_completion", "learning_certificate", "learning_review")
    by_account = ("person", "login_challenge", "phone_challenge", "web_session")
    rows: dict[str, ColumnElement[bool]] = {
        "account": col("account", "id") == c.account_id,
        "ledger_account": col("ledger_account", "id") == ledger,
        "ledger_entry": col("ledger_entry", "account_id") == ledger,
        "ledger_transfer": (col("ledger_transfer", "from_account_id") == ledger)
        | (col("ledger_transfer", "to_account_id") == ledger),
        "market_order": col("market_order", "card_id") == c.card_id,
        "purchase_code": (col("purchase_code", "card_id") == c.card_id)
        | col("purchase_code", "order_id").in_(orders),
        "feedback_ticket": col("feedback_ticket", "id").in_(tickets),
        "feedback_message": col("feedback_message", "id").in_(messages),
        "feedback_reply": col("feedback_reply", "ticket_id").in_(tickets),
        "feedback_triage_correction": col("feedback_triage_correction", "message_id").in_(messages),
        "notification": col("notification", "recipient").in_([c.email, c.phone]),
    }
    rows.update({n: col(n, "account_id") == c.account_id for n in by_account})
    rows.update({n: col(n, "person_id") == c.person_id for n in by_person})
    rows.update({n: col(n, "order_id").in_(orders) for n in by_order})
    rows.update(
        {
            n: (col(n, "person_id") == c.person_id) | col(n, "order_id").in_(orders)
            for n in by_order_or_person
        }
    )
    return rows


def table_problems(c: Citizen) -> list[str]:
    owned = set(owned_rows(c))
    problems = [
        f"table {t.name}: classify it as A's rows (owned_rows), SHARED_TABLES or EXCLUDED_TABLES"
        for t in Base.metadata.sorted_tables
        if t.name not in owned | SHARED_TABLES | set(EXCLUDED_TABLES)
    ]
    if (
        owned & SHARED_TABLES
        or owned & set(EXCLUDED_TABLES)
        or SHARED_TABLES & set(EXCLUDED_TABLES)
    ):
        problems.append("a table is in more than one of owned_rows, SHARED and EXCLUDED")
    return problems


Snapshot = dict[str, list[str]]


def snapshot(db: Database, c: Citizen) -> Snapshot:
    """Every row of A's, and every row of the shared tables, as text."""
    owned = owned_rows(c)
    out: Snapshot = {}
    with db.sessions() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in EXCLUDED_TABLES:
                continue
            where = true() if table.name in SHARED_TABLES else owned[table.name]
            stmt = select(table).where(where).order_by(*table.primary_key.columns)
            out[table.name] = [repr(tuple(row)) for row in s.execute(stmt)]
    return out


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    found = []
    for name, rows in after.items():
        if rows != before.get(name):
            gone = sorted(set(before.get(name, [])) - set(rows))
            new = sorted(set(rows) - set(before.get(name, [])))
            found.append(f"{name}: -{[r[:300] for r in gone[:2]]} +{[r[:300] for r in new[:2]]}")
    return found


# --- calling every route as B -------------------------------------------------------------------


@dataclass
class Attack:
    """Citizen B calling every route with A's values; collects what went wrong."""

    client: TestClient
    db: Database
    world: World
    all_methods: dict[str, set[str]]
    params: dict[str, dict[str, Param]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    calls: int = 0
    csrf: str = ""

    def __post_init__(self) -> None:
        a, w = self.world.a, self.world
        self.params = params_of(a, w, extra_values(self.db))
        self.bodies, self.form = bodies_of(a, w), form_of(a, w)
        self.markers = a.markers()

    def login(self) -> None:
        self.client.cookies.set(COOKIE, self.world.b.token)
        self.client.cookies.set(LANG_COOKIE, "en")
        if self.client.get("/api/v1/me").status_code != 200:  # a logout route ended it
            with self.db.transaction() as s:
                web = open_session(
                    s, account_id=self.world.b.account_id, ip="127.0.0.1", now=utc_now()
                )
                self.world.b.token = web.token
            self.client.cookies.set(COOKIE, web.token)
        self.csrf = self.csrf or form_token(self.client, "/complaints/new")

    def methods(self, t: Target) -> list[str]:
        undeclared = [m for m in EVERY_METHOD if m not in self.all_methods[t.path]]
        return sorted(t.methods) + undeclared

    def send(self, t: Target, method: str, url: str) -> tuple[Any, str]:
        """One request as B; returns the response and everything B sent (to tell an echo from
        a leak)."""
        query: dict[str, str] = {}
        if t.route is not None:
            wanted = {p.name for p in t.route.dependant.query_params}
            query = {k: v for k, v in query_of(self.world.a).items() if k in wanted}
        kwargs: dict[str, Any] = {"params": query, "follow_redirects": False}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            if t.html:
                kwargs["data"] = {**self.form, "csrf_token": self.csrf}
                kwargs["files"] = {"photo": ("me.png", sample_image(), "image/png")}
            else:
                kwargs["json"] = self.body(t, method)
        self.calls += 1
        if t.path == "/dev/inbox":
            with pointed_at(dev_inbox="0"):  # as production runs (settings refuse it there)
                resp = self.client.request(method, url, **kwargs)
        else:
            resp = self.client.request(method, url, **kwargs)
        return resp, f"{url} {query} {kwargs.get('data')} {kwargs.get('json')}"

    def body(self, t: Target, method: str) -> Any:
        if method not in t.methods or t.kind in (STAFF, PARTNER) or t.route is None:
            return {}
        if t.route.body_field is None:
            return {}
        if t.endpoint not in self.bodies:
            self.problems.append(f"{t.path}: takes a JSON body; add one to bodies_of")
            return {}
        return self.bodies[t.endpoint]

    def judge(self, t: Target, method: str, url: str, owned: bool, resp: Any, sent: str) -> None:
        where = f"{method} {url} [{t.kind}{', names A' if owned else ''}] -> {resp.status_code}"
        status = resp.status_code
        location = resp.headers.get("location", "")
        if status >= 500:
            self.problems.append(f"{where}: server error")
        elif method not in t.methods:
            if status not in REFUSED:
                self.problems.append(f"{where}: an undeclared method was served")
        elif t.kind == STAFF and status != 403:
            self.problems.append(f"{where}: a staff route did not refuse a citizen with 403")
        elif t.kind == PARTNER and status != 401:
            self.problems.append(
                f"{where}: a partner route did not refuse an unsigned call with 401"
            )
        elif t.kind == CITIZEN and owned and status not in NOT_YOURS:
            self.problems.append(f"{where}: not refused as another citizen's record (403/404)")
        text = resp.content.decode("utf-8", "replace") + location
        text += resp.headers.get("content-disposition", "")
        if t.html and method == "POST" and CSRF_FAILED in text:
            self.problems.append(f"{where}: refused for CSRF, so the route itself was not tested")
        leaked = [k for k, v in self.markers.items() if v and v not in sent and v in text]
        if leaked:
            self.problems.append(f"{where}: shows A's {', '.join(leaked)}")

    def run(self, t: Target) -> None:
        url, owned = url_of(t, self.params)
        for method in self.methods(t):
            self.login()
            resp, sent = self.send(t, method, url)
            self.judge(t, method, url, owned, resp, sent)


def extra_values(db: Database) -> dict[str, str]:
    """Staff-side rows a staff route's parameters name (any existing one will do)."""
    with db.sessions() as s:
        job = s.scalar(select(jobs.Job.id).order_by(jobs.Job.id).limit(1))
        version = current_policy(s)[0]
    return {"job_id": str(job or 1), "policy_version_id": str(getattr(version, "id", 1) or 1)}


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """The suite's client, but a server error is an answer to judge, not an exception."""
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


def test_a_citizen_cannot_read_or_change_another_citizens_data(
    client: TestClient, db: Database, world: World
) -> None:
    found = targets(client.app)  # type: ignore[arg-type]
    all_methods: dict[str, set[str]] = {}
    for t in found:
        all_methods.setdefault(t.path, set()).update(t.methods)
    attack = Attack(client, db, world, all_methods)
    unclassified = classification_problems(found, attack.params) + table_problems(world.a)
    assert not unclassified, "\n".join(unclassified)
    attack.login()
    baseline = snapshot(db, world.a)
    for t in found:
        attack.run(t)
        after = snapshot(db, world.a)
        if after != baseline:
            attack.problems.append(f"{t.path}: changed A's rows: {changes(baseline, after)}")
            baseline = after
    assert not attack.problems, f"{len(attack.problems)} problems:\n" + "\n".join(attack.problems)
    assert attack.calls >= len(found)
    # The controls: the same routes serve B's own records, so the refusals above were about
    # whose record it is (not a broken URL or a missing step); a forged form token is caught.
    forged = client.post("/complaints/new", data={**attack.form, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert CSRF_FAILED in forged.text
    own = params_of(world.b, world, extra_values(db))
    for t in found:
        if t.kind == CITIZEN and "GET" in t.methods and url_of(t, own)[1]:
            attack.login()
            resp = client.get(url_of(t, own)[0], follow_redirects=False)
            assert resp.status_code == 200, (
                f"GET {url_of(t, own)[0]} of B's own: {resp.status_code}"
            )
