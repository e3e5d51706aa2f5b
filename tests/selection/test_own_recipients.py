"""Registration's eligibility counts this programme's own recipients as screening does: someone
selected in a wave has used the one lifetime benefit, and counts towards the family card's cap."""

from __future__ import annotations

from prakerja.registration import service_eligibility
from tests.selection.wave_factories import NOW, add_application, add_person, open_committed


def test_a_selected_person_and_their_family_card_are_counted(db):
    with db.transaction() as s:
        wave = open_committed(s)
        winner = add_person(s, family="kk-keluarga-1")
        sibling = add_person(s, family="kk-keluarga-1")
        stranger = add_person(s, family="kk-lain")
        add_application(s, wave.id, winner.id, "selected")
        codes = {
            p: set(service_eligibility.check(s, p, NOW).codes) for p in (winner, sibling, stranger)
        }
        facts = service_eligibility.facts_for(s, sibling)
        bulk = {pid: f for pid, _, f in service_eligibility.iter_facts(s, own=True)}
        plain = {pid: f for pid, _, f in service_eligibility.iter_facts(s)}
    assert "prior_recipient" in codes[winner]
    assert "prior_recipient" not in codes[sibling]
    assert facts.kk_recipients == 1  # the winner, on the same family card
    assert codes[stranger] == set()
    assert bulk[sibling.id] == facts
    assert bulk[winner.id].prior_benefit
    assert not plain[winner.id].prior_benefit  # selection counts its own history per wave
