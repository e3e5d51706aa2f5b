"""Waves through their services: plan, commit, join, close, screen, draw, announce, recover."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from prakerja.kit import audit, jobs
from prakerja.kit.jobs import Job
from prakerja.kit.notify import Notification
from prakerja.selection import poolfile, service, service_draw, service_screen
from prakerja.selection import service_announce as announce_svc
from prakerja.selection.model import Application
from prakerja.settings import get_settings
from tests.selection.wave_factories import NOW, add_person, list_person, open_committed

ACTOR = "staff:test"


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)


def _run(db, wave_id: int, *, one_step: bool = False) -> None:
    with db.transaction() as s:
        service.close_wave(s, wave_id=wave_id, actor=ACTOR, now=NOW)
    if one_step:  # `prakerja waves run`: screen and draw in one transaction, one bulk write
        from prakerja.selection import service_ops

        with db.transaction() as s:
            code = service.get_wave(s, wave_id).code
            result = service_ops.run_action(s, code=code, action="run", actor=ACTOR, now=NOW)
        assert result["winners"] > 0
        assert result["eligible"] > 0
        return
    with db.transaction() as s:
        service_screen.screen(s, wave_id=wave_id, actor=ACTOR, now=NOW)
    with db.transaction() as s:
        service_draw.run_draw(s, wave_id=wave_id, actor=ACTOR, now=NOW, workers=1)


@pytest.mark.parametrize("one_step", [False, True], ids=["two_steps", "one_step"])
def test_a_full_wave_draws_within_quota_and_publishes_files_that_verify(db, one_step):
    with db.transaction() as s:
        wave = open_committed(s, places=4)
        people = [add_person(s, regency=c) for c in ["32.01"] * 5 + ["32.02"] * 3 + ["33.01"]]
        excluded = add_person(s, regency="32.01")
        list_person(s, excluded, "exclusion")
        people.append(excluded)
        for p in people:
            service.join_wave(s, account_id=p.account_id, wave_id=wave.id, consent=True, now=NOW)
        wave_id, code, excluded_id = wave.id, wave.code, excluded.id
    _run(db, wave_id, one_step=one_step)
    with db.transaction() as s:
        apps = {
            a.person_id: a
            for a in s.scalars(select(Application).where(Application.wave_id == wave_id))
        }
        wave = service.get_wave(s, wave_id)
        assert wave.status == "drawn"
        assert wave.winners == 4
        assert apps[excluded_id].status == "screened_out"
        assert apps[excluded_id].reasons == ["on_exclusion_list"]
        assert sum(a.status == "selected" for a in apps.values()) == 4
        ranks = sorted(a.rank for a in apps.values() if a.rank is not None)
        assert ranks == list(range(1, 10))
        issued = s.scalars(select(Job).where(Job.kind == "wallet.issue_card")).all()
        assert sorted(j.payload["person_id"] for j in issued) == sorted(
            p for p, a in apps.items() if a.status == "selected"
        )
        assert all(j.payload["wave_id"] == wave_id for j in issued)
        assert audit.verify(s).ok
    folder = get_settings().var_dir / "waves" / code
    report = poolfile.verify(
        (folder / "pool.bin").read_bytes(), (folder / "params.json").read_bytes(), workers=1
    )
    assert report.ok, report


def test_a_wave_cannot_be_drawn_twice_nor_changed_after_its_commitment(db):
    with db.transaction() as s:
        wave = open_committed(s)
        person = add_person(s)
        service.join_wave(s, account_id=person.account_id, wave_id=wave.id, consent=True, now=NOW)
        wave_id = wave.id
        plan = service.WavePlan(
            code=wave.code,
            name="x",
            opens_at=wave.opens_at,
            closes_at=wave.closes_at,
            total_quota=9,
        )
        with pytest.raises(service.WaveFrozen):
            service.update_wave(s, wave_id=wave.id, plan=plan, actor=ACTOR, now=NOW)
    _run(db, wave_id)
    with db.transaction() as s, pytest.raises(service.WrongWaveStatus):
        service_draw.run_draw(s, wave_id=wave_id, actor=ACTOR, now=NOW)


def test_join_refuses_without_consent_twice_other_region_or_incomplete(db):
    with db.transaction() as s:
        wave = open_committed(s, cells=["32.01"])
        ok, far, half = add_person(s), add_person(s, regency="11.01"), add_person(s, complete=False)
        with pytest.raises(service.ConsentRequired):
            service.join_wave(s, account_id=ok.account_id, wave_id=wave.id, consent=False, now=NOW)
        app = service.join_wave(s, account_id=ok.account_id, wave_id=wave.id, consent=True, now=NOW)
        assert len(app.receipt) == 11
        with pytest.raises(service.AlreadyJoined):
            service.join_wave(s, account_id=ok.account_id, wave_id=wave.id, consent=True, now=NOW)
        with pytest.raises(service.WaveNotForRegion):
            service.join_wave(s, account_id=far.account_id, wave_id=wave.id, consent=True, now=NOW)
        with pytest.raises(service.RegistrationIncomplete):
            service.join_wave(s, account_id=half.account_id, wave_id=wave.id, consent=True, now=NOW)
        with pytest.raises(service.WaveNotOpen):
            service.join_wave(
                s,
                account_id=far.account_id,
                wave_id=wave.id,
                consent=True,
                now=NOW + dt.timedelta(days=30),
            )


def test_prior_winners_and_full_family_cards_are_screened_out_in_the_next_wave(db):
    with db.transaction() as s:
        first = open_committed(s, places=3, cells=["32.01"])
        family = [add_person(s, family="kk-A") for _ in range(3)]
        for p in family:
            service.join_wave(s, account_id=p.account_id, wave_id=first.id, consent=True, now=NOW)
        first_id = first.id
    _run(db, first_id)
    with db.transaction() as s:
        statuses = s.scalars(select(Application.status).where(Application.wave_id == first_id))
        assert sorted(statuses) == ["not_selected", "selected", "selected"]  # KK cap 2
        loser = s.scalar(
            select(Application.person_id).where(
                Application.wave_id == first_id, Application.status == "not_selected"
            )
        )
        winner = s.scalar(
            select(Application.person_id).where(
                Application.wave_id == first_id, Application.status == "selected"
            )
        )
        second = open_committed(s, places=3, cells=["32.01"])
        for pid in (loser, winner):
            account_id = _account_of(s, pid)
            if pid == winner:
                with pytest.raises(service.AlreadyJoined):
                    service.join_wave(
                        s, account_id=account_id, wave_id=second.id, consent=True, now=NOW
                    )
            else:
                service.join_wave(
                    s, account_id=account_id, wave_id=second.id, consent=True, now=NOW
                )
        second_id = second.id
    _run(db, second_id)
    with db.transaction() as s:
        app = s.get(Application, (second_id, loser))
        assert app.status == "screened_out"
        assert app.reasons == ["kk_cap_reached"]


def _account_of(s, person_id: int) -> int:
    from prakerja.registration.model import Person

    return s.get(Person, person_id).account_id


def test_announce_texts_the_selected_once_and_recovery_reoffers_the_waitlist(db):
    with db.transaction() as s:
        wave = open_committed(s, places=2, cells=["32.01"])
        people = [add_person(s) for _ in range(5)]
        for p in people:
            service.join_wave(s, account_id=p.account_id, wave_id=wave.id, consent=True, now=NOW)
        wave_id = wave.id
    _run(db, wave_id)
    with db.transaction() as s:
        assert announce_svc.announce(s, wave_id=wave_id, actor=ACTOR, now=NOW) == 5
    with db.transaction() as s:  # run the announcement jobs only (SMS delivery needs a gateway)
        for job in s.scalars(select(Job).where(Job.kind == "selection.announce")).all():
            jobs.HANDLERS["selection.announce"](s, dict(job.payload), NOW)
            jobs.HANDLERS["selection.announce"](s, dict(job.payload), NOW)  # idempotent
        assert s.scalar(select(func.count()).select_from(Notification)) == 2
    with db.transaction() as s:
        recovery = announce_svc.plan_recovery(
            s, parent_id=wave_id, code="REC-1", revoked_count=2, actor=ACTOR, now=NOW
        )
        assert announce_svc.draw_recovery(s, wave_id=recovery.id, actor=ACTOR, now=NOW) == 2
        best = s.scalars(
            select(Application.person_id)
            .where(Application.wave_id == wave_id, Application.status == "not_selected")
            .order_by(Application.rank)
            .limit(2)
        ).all()
        chosen = s.scalars(
            select(Application.person_id).where(Application.wave_id == recovery.id)
        ).all()
        assert sorted(best) == sorted(chosen)


def test_the_one_step_run_of_a_recovery_wave_draws_it_from_the_waitlist(db):
    from prakerja.selection import service_ops

    with db.transaction() as s:
        wave = open_committed(s, places=1, cells=["32.01"])
        for p in [add_person(s) for _ in range(4)]:
            service.join_wave(s, account_id=p.account_id, wave_id=wave.id, consent=True, now=NOW)
        wave_id = wave.id
    _run(db, wave_id, one_step=True)
    with db.transaction() as s:
        announce_svc.plan_recovery(
            s, parent_id=wave_id, code="REC-RUN", revoked_count=2, actor=ACTOR, now=NOW
        )
    with db.transaction() as s:  # nothing to screen: `run` draws it like `draw` does
        result = service_ops.run_action(s, code="REC-RUN", action="run", actor=ACTOR, now=NOW)
        assert result == {"winners": 2}
        assert service.wave_by_code(s, "REC-RUN").status == "drawn"
