"""The batch completion call (POST /api/partner/v1/completions/batch): one result per report in
order, a refused report changes nothing for it, repeats answer the same, a bad signature or an
oversized batch is refused whole and changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from prakerja.kit.db import Database
from prakerja.learning import rules, service_completion
from prakerja.learning.model import Attendance, Certificate, Completion
from prakerja.learning.service_completion import Recorded, Report
from prakerja.marketplace import signing
from tests.learning.conftest import NOW, Learner, Setup, make_learner, make_setup, signed

API = "/api/partner/v1"
BATCH = f"{API}/completions/batch"


@dataclass
class World:
    setup: Setup
    attended: list[Learner]  # every session reported attended
    absent: Learner  # no session attended
    other: Setup  # another platform's course
    theirs: Learner  # attended, but the other platform's order


def _attend_all(db: Database, setup: Setup, learner: Learner) -> None:
    """Reported attendance rows (the redeem/face flow itself is test_api's business)."""
    with db.transaction() as s:
        for sid in setup.session_ids:
            s.add(
                Attendance(
                    order_id=learner.order_id,
                    session_id=sid,
                    method="face",
                    face_status="pass",
                    face_attempts=1,
                    at=NOW,
                    reported_at=NOW,
                    reported_by=setup.platform_id,
                    created_at=NOW,
                )
            )


@pytest.fixture
def world(db: Database) -> World:
    start = NOW + dt.timedelta(days=1)
    with db.transaction() as s:
        setup, other = make_setup(s, starts=[start]), make_setup(s, starts=[start])
        learners = [make_learner(s, setup, name=f"Peserta {i}") for i in range(4)]
        theirs = make_learner(s, other)
    for learner in learners[:3]:
        _attend_all(db, setup, learner)
    _attend_all(db, other, theirs)
    return World(setup, learners[:3], learners[3], other, theirs)


def _report(learner: Learner, pre: int = 40, post: int = 80) -> dict[str, Any]:
    return {"order_id": learner.order_public_id, "pre_score": pre, "post_score": post}


def _stored(db: Database) -> dict[str, tuple[int, int, str]]:
    """order id -> (pre, post, certificate id) of every completion."""
    with db.transaction() as s:
        rows = s.execute(
            select(
                Completion.order_id,
                Completion.pre_score,
                Completion.post_score,
                Certificate.public_id,
            ).join(Certificate, Certificate.order_id == Completion.order_id)
        )
        return {str(o): (pre, post, cert) for o, pre, post, cert in rows}


def _codes(body: dict[str, Any]) -> list[str]:
    return [r.get("code", "ok") for r in body["results"]]


def test_a_batch_records_every_report_in_order_with_a_verifiable_certificate(
    client: TestClient, db: Database, world: World
) -> None:
    reports = [_report(learner, 30 + i, 70 + i) for i, learner in enumerate(world.attended)]
    resp = signed(client, world.setup.keys, "POST", BATCH, {"reports": reports})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["accepted"], body["refused"]) == (3, 0)
    assert [(r["order_id"], r["pre_score"], r["post_score"]) for r in body["results"]] == [
        (r["order_id"], r["pre_score"], r["post_score"]) for r in reports
    ]
    stored = _stored(db)
    assert len(stored) == 3
    with db.transaction() as s:
        for result in body["results"]:
            cert = service_completion.certificate_by_public_id(
                s, result["certificate"]["certificate_id"]
            )
            valid, facts = service_completion.check_certificate(cert)
            assert valid
            assert facts["order_id"] == result["order_id"]
            assert facts["scores"] == {"pre": result["pre_score"], "post": result["post_score"]}
            assert result["certificate"]["verify_url"].endswith(cert.public_id)
    # the single call, and the course's provider, see the very same completion
    single = signed(client, world.setup.provider_keys, "POST", f"{API}/completions", reports[1])
    assert single.status_code == 200
    assert single.json() == body["results"][1]
    assert _stored(db) == stored


def test_a_bad_report_is_refused_alone_and_the_good_ones_land(
    client: TestClient, db: Database, world: World
) -> None:
    first, second, earlier = world.attended
    assert (
        signed(
            client, world.setup.keys, "POST", f"{API}/completions", _report(earlier, 50, 90)
        ).status_code
        == 200
    )
    before = _stored(db)
    reports = [
        _report(first),
        {"order_id": "no-such-order", "pre_score": 1, "post_score": 2},
        _report(world.theirs),
        _report(world.absent),
        _report(earlier, 50, 91),
        {"order_id": second.order_public_id, "pre_score": 101, "post_score": 80},
        [1, 2],
        _report(second, 20, 60),
    ]
    resp = signed(client, world.setup.keys, "POST", BATCH, {"reports": reports})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert _codes(body) == [
        "ok",
        "enrolment_not_found",
        "enrolment_not_found",
        "sessions_not_attended",
        "already_reported_differently",
        "invalid",
        "invalid",
        "ok",
    ]
    assert [r.get("status", 200) for r in body["results"]] == [
        200,
        404,
        404,
        409,
        409,
        422,
        422,
        200,
    ]
    assert (body["accepted"], body["refused"]) == (2, 6)
    conflict, invalid = body["results"][4], body["results"][5]
    assert conflict["type"] == "/problems/already_reported_differently"
    assert (conflict["pre_score"], conflict["post_score"]) == (50, 90)
    assert {"type", "title", "status", "detail"} <= conflict.keys()
    assert invalid["order_id"] == second.order_public_id
    assert invalid["errors"][0]["loc"] == ["body", "reports", "5", "pre_score"]
    assert invalid["detail"] == "pre_score: Input should be less than or equal to 100"
    assert body["results"][6]["errors"][0]["loc"] == ["body", "reports", "6"]
    assert body["results"][3]["sessions"] == 1
    stored = _stored(db)
    assert stored.pop(str(first.order_id))[:2] == (40, 80)
    assert stored.pop(str(second.order_id))[:2] == (20, 60)
    assert stored == before  # the earlier completion is untouched; nothing else was recorded


def test_the_same_order_twice_in_one_batch_is_a_repeat(
    client: TestClient, db: Database, world: World
) -> None:
    learner = world.attended[0]
    reports = [_report(learner), _report(learner), _report(learner, 40, 81)]
    body = signed(client, world.setup.keys, "POST", BATCH, {"reports": reports}).json()
    assert _codes(body) == ["ok", "ok", "already_reported_differently"]
    assert body["results"][0] == body["results"][1]
    assert len(_stored(db)) == 1


def test_repeating_a_batch_answers_the_same_and_changes_nothing(
    client: TestClient, db: Database, world: World
) -> None:
    reports = [_report(learner) for learner in world.attended] + [_report(world.absent)]
    first = signed(client, world.setup.keys, "POST", BATCH, {"reports": reports})
    stored = _stored(db)
    again = signed(client, world.setup.keys, "POST", BATCH, {"reports": reports})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert _stored(db) == stored
    reports[1] = reports[1] | {"post_score": 99}
    changed = signed(client, world.setup.keys, "POST", BATCH, {"reports": reports}).json()
    assert _codes(changed) == ["ok", "already_reported_differently", "ok", "sessions_not_attended"]
    assert changed["results"][0] == first.json()["results"][0]
    assert _stored(db) == stored


@pytest.mark.parametrize("fault", ["wrong_secret", "stale", "other_body", "replay"])
def test_a_bad_signature_is_401_and_changes_nothing(
    client: TestClient, db: Database, world: World, fault: str
) -> None:
    keys = world.setup.keys
    payload = {"reports": [_report(learner) for learner in world.attended]}
    body = json.dumps(payload).encode()
    if fault == "wrong_secret":
        resp = signed(client, keys, "POST", BATCH, payload, secret="nope" * 8)
    elif fault == "stale":
        resp = signed(client, keys, "POST", BATCH, payload, timestamp=int(time.time()) - 301)
    else:
        headers = signing.sign(keys.client_id, keys.secret, "POST", BATCH, body)
        headers["Content-Type"] = "application/json"
        if fault == "replay":
            assert client.post(BATCH, content=body, headers=headers).status_code == 200
        else:  # the signature covers the whole body: one changed score breaks it
            body = body.replace(b'"post_score": 80', b'"post_score": 81', 1)
        before = _stored(db)
        resp = client.post(BATCH, content=body, headers=headers)
        assert resp.status_code == 401
        assert _stored(db) == before
        return
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "bad_signature"
    assert _stored(db) == {}


@pytest.mark.parametrize("count", [0, 501])
def test_an_empty_or_oversized_batch_is_422_and_changes_nothing(
    client: TestClient, db: Database, world: World, count: int
) -> None:
    learner = world.attended[0]
    resp = signed(client, world.setup.keys, "POST", BATCH, {"reports": [_report(learner)] * count})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["loc"] == ["body", "reports"]
    assert _stored(db) == {}


def test_a_batch_of_500_is_accepted(client: TestClient, db: Database, world: World) -> None:
    reports = [_report(world.attended[i % 3]) for i in range(500)]
    body = signed(client, world.setup.keys, "POST", BATCH, {"reports": reports}).json()
    assert (body["accepted"], body["refused"]) == (500, 0)
    assert len(_stored(db)) == 3


@pytest.mark.parametrize("twin_scores", [(40, 80), (10, 20)])
def test_a_concurrent_twin_is_answered_as_a_repeat_and_the_rest_still_land(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch, twin_scores: tuple[int, int]
) -> None:
    first, second, _ = world.attended
    load = service_completion._load
    twins: list[int] = []

    def load_then_twin(*args: Any) -> Any:
        batch = load(*args)
        if twins:  # the twin's own load (a single report is a batch of one)
            return batch
        twins.append(1)
        with db.transaction() as other:  # another request records `first` meanwhile
            service_completion.record_completion(
                other,
                order_id=first.order_id,
                pre_score=twin_scores[0],
                post_score=twin_scores[1],
                partner_id=world.setup.platform_id,
                now=NOW,
            )
        return batch

    monkeypatch.setattr(service_completion, "_load", load_then_twin)
    with db.transaction() as s:
        out = service_completion.record_completions(
            s,
            partner_id=world.setup.platform_id,
            now=NOW + dt.timedelta(hours=1),
            reports=[Report(first.order_public_id, 40, 80), Report(second.order_public_id, 1, 2)],
        )
    stored = _stored(db)
    twin = stored[str(first.order_id)]
    assert twin[:2] == twin_scores
    if twin_scores == (40, 80):
        assert isinstance(out[0], Recorded)
        assert (out[0].certificate_id, out[0].completed_at) == (twin[2], NOW)
    else:
        assert isinstance(out[0], rules.AlreadyReportedDifferently)
    assert isinstance(out[1], Recorded)
    assert stored[str(second.order_id)] == (1, 2, out[1].certificate_id)
    assert len(stored) == 2


def test_two_overlapping_batches_at_once_record_each_order_once(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both batches read before either writes (a retry racing its timed-out original, one of
    them in reverse order): no deadlock, one completion per order, both answer the same."""
    orders = [learner.order_public_id for learner in world.attended]
    load, barrier = service_completion._load, threading.Barrier(2, timeout=30)

    def load_then_wait(*args: Any) -> Any:
        batch = load(*args)
        barrier.wait()
        return batch

    monkeypatch.setattr(service_completion, "_load", load_then_wait)
    answers: dict[str, Any] = {}

    def call(name: str, ids: list[str]) -> None:
        try:
            with db.transaction() as s:
                answers[name] = service_completion.record_completions(
                    s,
                    partner_id=world.setup.platform_id,
                    now=NOW,
                    reports=[Report(order, 40, 80) for order in ids],
                )
        except Exception as exc:  # reported by the assertion below
            answers[name] = exc

    threads = [
        threading.Thread(target=call, args=("forward", orders)),
        threading.Thread(target=call, args=("reverse", orders[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    forward, reverse = answers["forward"], answers["reverse"]
    assert isinstance(forward, list), forward
    assert isinstance(reverse, list), reverse
    assert all(isinstance(r, Recorded) for r in forward + reverse)
    assert forward == reverse[::-1]
    assert sorted(cert for _, _, cert in _stored(db).values()) == sorted(
        r.certificate_id for r in forward
    )


def test_the_batch_call_is_documented(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    post = spec["paths"][BATCH]["post"]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/CompletionBatchRead")
    assert {"401", "422"} <= post["responses"].keys()
    batch_in = spec["components"]["schemas"]["CompletionBatchIn"]["properties"]["reports"]
    assert batch_in["maxItems"] == 500
    assert batch_in["items"]["title"] == "CompletionIn"
