"""A wave issued in chunks on two connections at once gives the same cards as one pass, keeps
every ledger invariant and every foreign key, and issues nothing when run again."""

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from prakerja.kit import jobs
from prakerja.kit.db import is_postgres
from prakerja.wallet import bulk
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import Entry, Transfer
from prakerja.wallet.model_card import Card
from tests.wallet.card_factories import (
    NOW,
    WAVE,
    enqueue_winners,
    job_statuses,
    make_person,
    payload,
)

TABLES = ("card", "ledger_transfer", "ledger_entry")


def _winners(db, start, count):
    with db.transaction() as s:
        people = [make_person(s, start + i, phone=i % 5 != 0) for i in range(count)]
        enqueue_winners(s, people)
    return people


def _counts(s):
    return (
        s.scalar(select(func.count()).select_from(Card)),
        s.scalar(select(func.count()).select_from(Transfer)),
        s.scalar(select(func.count()).select_from(Entry)),
        len(job_statuses(s, "notify.deliver")),
    )


def _dangling_references(s):
    """Rows of the card and ledger tables whose foreign key points at no row (PostgreSQL)."""
    keys = s.execute(
        text("""SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,
                       f.attname
                FROM pg_constraint c
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1]
                WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(:tables)"""),
        {"tables": list(TABLES)},
    ).all()
    assert len(keys) == 8
    found = {}
    for child, col, parent, ref in keys:
        # Names from pg_catalog, not from input.
        missing = f"NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{ref} = c.{col})"  # noqa: S608
        sql = f"SELECT count(*) FROM {child} c WHERE c.{col} > 0 AND {missing}"  # noqa: S608
        found[f"{child}.{col}"] = s.scalar(text(sql))
    return {k: v for k, v in found.items() if v}


def test_two_connections_issue_the_wave_once(db):
    people = _winners(db, 1, 23)
    with db.transaction() as s:
        for p in people[:2]:  # queued twice (at-least-once), in a later chunk
            jobs.enqueue(s, "wallet.issue_card", payload(p), now=NOW)
    report = bulk.issue_wave(db, wave_id=WAVE, now=NOW, workers=2, chunk=4)
    assert report == bulk.BulkReport(issued=23, already_done=2, left_queued=0)
    with db.transaction() as s:
        assert _counts(s) == (23, 23, 46, 18)
        assert set(job_statuses(s, "wallet.issue_card")) == {"done"}
        assert check_ledger(s) == []
        if is_postgres(s):
            assert _dangling_references(s) == {}
    assert bulk.issue_wave(db, wave_id=WAVE, now=NOW, workers=2, chunk=4) == bulk.BulkReport(
        0, 0, 0
    )


def test_jobs_the_bulk_path_refuses_are_counted_once_and_stay_queued(db):
    _winners(db, 30, 5)
    with db.transaction() as s:
        jobs.enqueue(
            s,
            "wallet.issue_card",
            {"application_id": 5, "person_id": 987654, "wave_id": WAVE, "policy_version_id": None},
            now=NOW,
        )
    report = bulk.issue_wave(db, wave_id=WAVE, now=NOW, workers=2, chunk=2)
    assert report == bulk.BulkReport(issued=5, already_done=0, left_queued=1)
    with db.transaction() as s:
        assert sorted(job_statuses(s, "wallet.issue_card")) == ["done"] * 5 + ["queued"]


def test_a_chunk_that_loses_a_race_runs_again(db, monkeypatch):
    _winners(db, 40, 3)
    real, calls = bulk.issue_cards_for_wave, []

    class Race(Exception):
        sqlstate = "23505"  # unique_violation: another chunk carded the same winner first

    def flaky(session, **kw):
        calls.append(kw["job_ids"])
        if len(calls) == 1:
            raise IntegrityError("INSERT INTO card ...", {}, Race())
        return real(session, **kw)

    monkeypatch.setattr(bulk, "issue_cards_for_wave", flaky)
    report = bulk.issue_wave(db, wave_id=WAVE, now=NOW, workers=1, chunk=10)
    assert report.issued == 3
    assert calls[0] == calls[1] is not None  # the same chunk again


@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_that_is_no_race_is_not_retried_and_stops_the_wave(db, monkeypatch, workers):
    _winners(db, 50, 6)
    calls = []

    class Broken(Exception):
        sqlstate = "23514"  # check_violation: a bug, not a race

    def broken(session, **kw):
        calls.append(1)
        raise IntegrityError("INSERT INTO card ...", {}, Broken())

    monkeypatch.setattr(bulk, "issue_cards_for_wave", broken)
    with pytest.raises(IntegrityError):
        bulk.issue_wave(db, wave_id=WAVE, now=NOW, workers=workers, chunk=1)
    assert 1 <= len(calls) <= workers  # no retry, and no chunk started after the failure


def test_row_triggers_are_on_again_when_the_fast_path_returns(db):
    if not is_postgres(db.engine):
        pytest.skip("session_replication_role is PostgreSQL's")
    _winners(db, 60, 2)
    with db.transaction() as s:
        assert bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW).issued == 2
        assert s.scalar(text("SHOW session_replication_role")) == "origin"


def test_the_per_row_trigger_path_gives_the_same_result(db, monkeypatch):
    monkeypatch.setattr(bulk, "ROW_TRIGGERS_OFF", False)
    _winners(db, 70, 6)
    with db.transaction() as s:
        assert bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW).issued == 6
    with db.transaction() as s:
        assert _counts(s) == (6, 6, 12, 4)
        assert check_ledger(s) == []


def test_a_winner_being_carded_cannot_be_deleted_meanwhile(db):
    """The fast path holds the lock an FK check on card.person_id would take."""
    if not is_postgres(db.engine):
        pytest.skip("row locks are PostgreSQL's")
    (person,) = _winners(db, 80, 1)
    with db.transaction() as s:
        assert bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW).issued == 1
        with db.engine.connect() as other:
            other.execute(text("SET lock_timeout = '300ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                other.execute(text("DELETE FROM person WHERE id = :id"), {"id": person.id})


def test_a_role_that_may_not_switch_triggers_off_issues_with_them_on(db, monkeypatch):
    if not is_postgres(db.engine):
        pytest.skip("session_replication_role is PostgreSQL's")
    _winners(db, 90, 3)

    class Denied(Exception):
        sqlstate = "42501"  # insufficient_privilege, as for a role without SET on the parameter

    with db.transaction() as s:
        real = s.execute

        def execute(statement, params=None, **kw):
            if isinstance(params, dict) and params.get("value") == "replica":
                raise ProgrammingError(str(statement), params, Denied())
            return real(statement, params, **kw)

        monkeypatch.setattr(s, "execute", execute)
        assert bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW).issued == 3
        assert real(text("SHOW session_replication_role")).scalar() == "origin"
    with db.transaction() as s:
        assert _counts(s) == (3, 3, 6, 2)
        assert check_ledger(s) == []
        assert _dangling_references(s) == {}
