"""Across contexts: a drawn wave's card jobs issue cards with the policy's balance, and the
ledger stays sound whether the jobs run one by one or the bulk path issues them."""

from sqlalchemy import func, select

from prakerja.kit import jobs
from prakerja.selection import service, service_draw, service_screen
from prakerja.selection.model import Application
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model_card import Card
from prakerja.wallet.service import balance
from tests.selection.wave_factories import NOW, add_person, open_committed


def _drawn_wave(db, places=3):
    with db.transaction() as s:
        wave = open_committed(s, places=places)
        for cell in ["32.01"] * 4 + ["32.02"] * 2 + ["33.01"] * 2:
            person = add_person(s, regency=cell)
            service.join_wave(
                s, account_id=person.account_id, wave_id=wave.id, consent=True, now=NOW
            )
        wave_id = wave.id
    with db.transaction() as s:
        service.close_wave(s, wave_id=wave_id, actor="staff:test", now=NOW)
    with db.transaction() as s:
        service_screen.screen(s, wave_id=wave_id, actor="staff:test", now=NOW)
    with db.transaction() as s:
        service_draw.run_draw(s, wave_id=wave_id, actor="staff:test", now=NOW, workers=1)
    return wave_id


def test_every_winner_gets_one_card_with_the_policy_balance(db):
    wave_id = _drawn_wave(db)
    jobs.run_until_idle(db)
    jobs.run_until_idle(db)  # a second pass must change nothing
    with db.transaction() as s:
        winners = s.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.wave_id == wave_id, Application.status == "selected")
        )
        cards = s.scalars(select(Card).where(Card.wave_id == wave_id)).all()
        assert winners == 3
        assert len(cards) == winners
        assert {balance(s, c.ledger_account_id)[0] for c in cards} == {3_500_000}
        assert check_ledger(s) == []
        assert jobs.counts(s).get("dead", 0) == 0
