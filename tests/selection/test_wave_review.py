"""Manual review after repeated non-selection, and screening's priority tiers and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from prakerja.kit import audit
from prakerja.selection import service, service_review, service_screen
from prakerja.selection.model import Application
from prakerja.settings import get_settings
from tests.selection.wave_factories import (
    NOW,
    add_application,
    add_person,
    list_person,
    open_committed,
    plan,
)


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)


def _missed(s, person, times: int) -> None:
    for _ in range(times):
        add_application(s, plan(s).id, person.id, "not_selected")


def test_a_review_can_be_asked_after_three_non_selections_and_is_decided_once(db):
    with db.transaction() as s:
        person = add_person(s)
        _missed(s, person, 2)
        with pytest.raises(service_review.ReviewNotAllowed):
            service_review.request_review(s, account_id=person.account_id, now=NOW)
        _missed(s, person, 1)
        review = service_review.request_review(s, account_id=person.account_id, now=NOW)
        assert review.non_selections == 3
        with pytest.raises(service_review.ReviewAlreadyOpen):
            service_review.request_review(s, account_id=person.account_id, now=NOW)
        with pytest.raises(service_review.Invalid):
            service_review.decide_review(
                s, review_id=review.id, decision="maybe", note="", actor="staff:t", now=NOW
            )
        service_review.decide_review(
            s,
            review_id=review.id,
            decision="approved",
            note="registry fixed",
            actor="staff:t",
            now=NOW,
        )
        with pytest.raises(service_review.Conflict):
            service_review.decide_review(
                s, review_id=review.id, decision="rejected", note="", actor="staff:t", now=NOW
            )
        assert audit.verify(s).ok


def test_screening_sets_priority_tier_inclusion_flags_and_keeps_reason_codes(db):
    with db.transaction() as s:
        wave = open_committed(s, cells=["32.01"])
        listed = add_person(s, disability=True)
        list_person(s, listed, "priority")
        migrant = add_person(s, migrant_status="former")
        student = add_person(s)
        list_person(s, student, "student")
        young = add_person(s, born=NOW.date().replace(year=NOW.year - 16))
        for p in (listed, migrant, student, young):
            service.join_wave(s, account_id=p.account_id, wave_id=wave.id, consent=True, now=NOW)
        service.close_wave(s, wave_id=wave.id, actor="staff:t", now=NOW)
        report = service_screen.screen(s, wave_id=wave.id, actor="staff:t", now=NOW)
        assert (report.eligible, report.screened_out, report.priority) == (2, 2, 1)
        got = {p.id: s.get(Application, (wave.id, p.id)) for p in (listed, migrant, student, young)}
        assert (got[listed.id].priority_tier, got[listed.id].inclusion_flags) == (1, 1)
        assert (got[migrant.id].priority_tier, got[migrant.id].inclusion_flags) == (0, 2)
        assert got[student.id].reasons == ["student"]
        assert got[young.id].reasons == ["age_below_min"]
        assert len({a.pseudonym for a in got.values()}) == 4
