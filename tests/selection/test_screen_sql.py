"""The set-based SQL screening writes exactly what the Python rules write (PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from prakerja.registration import policy, service_eligibility
from prakerja.selection import screen_sql, service, service_screen
from prakerja.selection.model import Application
from tests.selection.wave_factories import NOW, add_application, add_person, list_person, plan

KINDS = ("exclusion", "priority", "student", "blacklist", "prior_recipient", "other_aid")
STEPS = ("identity", "profile", "ktp", "face", "phone", "statement", "test")


def _born(rng: random.Random) -> dt.date | None:
    today = NOW.date()
    pick = rng.random()
    if pick < 0.05:
        return None
    if pick < 0.15:
        return dt.date(2008, 2, 29)  # leap-day birthdays around the age boundaries
    if pick < 0.45:  # birthdays on, just before and just after the screening date
        years = rng.choice([17, 18, 19, 40, 41, 64, 65])
        return today.replace(year=today.year - years) + dt.timedelta(days=rng.choice([-1, 0, 1]))
    return today - dt.timedelta(days=rng.randint(15 * 365, 70 * 365))


def _add(s: Any, **kw: Any) -> Any:
    # The factory's NIK keeps only the digits of a random tag, so two may collide: retry.
    for _ in range(20):
        try:
            with s.begin_nested():
                return add_person(s, **kw)
        except IntegrityError:
            continue
    raise AssertionError("no free NIK")


def _person(s: Any, rng: random.Random, families: list[str]) -> Any:
    person = _add(
        s,
        family=rng.choice(families),
        born=_born(rng),  # type: ignore[arg-type]
        other_aid=rng.choice(["", "dtks", " bsu , x", "other", "dtks,bpum"]),
        disability=rng.random() < 0.2,
        migrant_status=rng.choice(["none", "former", "current"]),
    )
    person.occupation = rng.choice(["none", "civil_servant", "police", "", None, "farmer"])
    person.employment_status = rng.choice(["unemployed", "student", None])
    person.registry_status = rng.choice(["matched"] * 5 + ["mismatch", "none"])
    if rng.random() < 0.1:
        setattr(person, f"{rng.choice(STEPS)}_done_at", None)
    if rng.random() < 0.05:
        person.kk_bidx = rng.choice([None, ""])
    for kind in KINDS:
        if rng.random() < 0.08:
            list_person(s, person, kind)
    return person


def _apply(s: Any, wave: Any, people: list[Any], status: str = "joined") -> None:
    for p in people:
        add_application(s, wave.id, p.id, status)


def _rules_version(s: Any, variant: int) -> int | None:
    if variant == 0:
        return None  # the preset
    base = policy.PRESETS["2020-22"]
    rules = base if variant == 1 else dataclasses.replace(base, age_max=40, kk_cap=1)
    draft = service_eligibility.create_draft(s, code=f"2026.{variant}", actor="t", now=NOW)
    service_eligibility.update_draft(s, version_id=draft.id, rules=rules, actor="t", now=NOW)
    service_eligibility.publish(s, version_id=draft.id, actor="t", now=NOW)
    return draft.id


def _outcome(s: Any, wave_id: int) -> dict[int, tuple[Any, ...]]:
    rows = s.scalars(select(Application).where(Application.wave_id == wave_id))
    return {
        a.person_id: (
            a.status,
            list(a.reasons),
            a.priority_tier,
            a.inclusion_flags,
            a.kk_prior,
            a.pseudonym,
            a.kk_pseudonym,
        )
        for a in rows
    }


@pytest.mark.parametrize("variant", [0, 1, 2])
def test_sql_screening_equals_the_python_rules_on_a_random_population(db, variant):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the SQL path runs on PostgreSQL; SQLite always takes the Python path")
    rng = random.Random(variant)
    with db.transaction() as s:
        if not screen_sql.available(s):
            pytest.skip("pgcrypto is not installable on this server")
        families = [f"fam-{i}" for i in range(25)]
        people = [_person(s, rng, families) for _ in range(160)]
        earlier = plan(s)
        _apply(s, earlier, [p for p in people if rng.random() < 0.15], status="selected")
        version = _rules_version(s, variant)
        waves = [plan(s), plan(s)]
        for wave in waves:
            wave.policy_version_id = version
            wave.pseudonym_key_enc = waves[0].pseudonym_key_enc
            service.publish_commitment(s, wave_id=wave.id, actor="t", now=NOW)
            wave.status = "closed"
            _apply(s, wave, people)
        py = service_screen.screen(s, wave_id=waves[0].id, actor="t", now=NOW, use_sql=False)
        sql = service_screen.screen(s, wave_id=waves[1].id, actor="t", now=NOW)
        s.expire_all()
        py_rows, sql_rows = _outcome(s, waves[0].id), _outcome(s, waves[1].id)
    assert sql_rows == py_rows
    assert sql == py
    assert 0 < py.eligible < py.applications  # the population exercises both outcomes
    assert {"prior_recipient", "kk_cap_reached", "student", "age_below_min"} <= set(py.reasons)


def _drawn(s: Any, wave_id: int) -> dict[int, tuple[Any, ...]]:
    rows = s.scalars(select(Application).where(Application.wave_id == wave_id))
    return {
        a.person_id: (
            a.status,
            list(a.reasons),
            a.priority_tier,
            a.inclusion_flags,
            a.kk_prior,
            a.pseudonym,
            a.kk_pseudonym,
            a.rank,
            a.phase,
            a.regency_code,
        )
        for a in rows
    }


def test_the_one_pass_wave_run_writes_what_screen_then_draw_write(db, tmp_path, monkeypatch):
    # On PostgreSQL screen_and_draw stages the screening and rewrites the wave's partition once;
    # the two-step path rewrites it twice (SQLite: both update in place). Run both on the same
    # wave, each in a transaction that is then rolled back: every column of every application
    # and the published result must be equal.
    from prakerja.selection import service_draw
    from prakerja.selection.model import Wave
    from prakerja.settings import get_settings

    monkeypatch.setattr(get_settings(), "var_dir", str(tmp_path))
    rng = random.Random(11)
    with db.transaction() as s:
        families = [f"fam-{i}" for i in range(30)]
        people = [_person(s, rng, families) for _ in range(120)]
        _apply(s, plan(s), [p for p in people if rng.random() < 0.1], status="selected")
        wave = plan(s, places=25)
        service.publish_commitment(s, wave_id=wave.id, actor="t", now=NOW)
        wave.status = "closed"
        _apply(s, wave, people)
        wave_id = wave.id
    results = []
    for one_pass in (True, False):
        s = db.sessions()
        try:
            if one_pass:
                service_draw.screen_and_draw(s, wave_id=wave_id, actor="t", now=NOW)
            else:
                service_screen.screen(s, wave_id=wave_id, actor="t", now=NOW)
                service_draw.run_draw(s, wave_id=wave_id, actor="t", now=NOW)
            s.flush()
            s.expire_all()
            done = s.get(Wave, wave_id)
            results.append((_drawn(s, wave_id), done.status, done.winners_sha256))
        finally:
            s.rollback()
            s.close()
    assert results[0] == results[1]
    rows, status, _ = results[0]
    assert status == "drawn"
    assert {v[0] for v in rows.values()} == {"selected", "not_selected", "screened_out"}


def test_a_rewrite_that_would_lose_applications_is_refused_and_changes_nothing(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("waves are rewritten as partitions on PostgreSQL only")
    from prakerja.selection import bulk

    rng = random.Random(5)
    with db.transaction() as s:
        wave = plan(s)
        _apply(s, wave, [_person(s, rng, ["fam"]) for _ in range(6)])
        wave_id = wave.id
    every = ", ".join(f"a.{c}" for c in bulk.COLUMNS)
    short = f"SELECT {every} FROM application a WHERE a.wave_id = :w AND a.person_id % 2 = 0"  # noqa: S608 (our column names)
    s = db.sessions()
    try:
        with pytest.raises(ValueError, match="produced"):
            bulk.rewrite_wave(s, wave_id, short, {"w": wave_id})
    finally:
        s.rollback()
        s.close()
    with db.transaction() as s:
        assert len(_outcome(s, wave_id)) == 6
