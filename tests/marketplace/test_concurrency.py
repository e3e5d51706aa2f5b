"""Simultaneous purchases against one card never overspend; racing partner calls stay sound."""

import pytest
from sqlalchemy import select

from prakerja.identity.errors import CountedRefusal, WrongCode
from prakerja.marketplace import service_order, service_purchase
from prakerja.marketplace.model import Course, Order, Partner, PurchaseCode, WebhookDelivery
from prakerja.wallet import service as ledger
from prakerja.wallet.check import check_ledger
from tests.burst import at_once
from tests.marketplace.conftest import NOW, make_buyer, make_course, make_partner, sms_code

THREADS = 12


class _Tap:
    """One started order of a fresh buyer, to be confirmed twice (a double tap)."""

    def __init__(self, db, key, **course):
        with db.transaction() as s:
            self.platform = make_partner(s, "platform")
            provider = make_partner(s, "provider")
            self.course = make_course(s, self.platform, provider, **course)
            self.buyer = make_buyer(s)
            self.public_id = service_purchase.start_purchase(
                s,
                account_id=self.buyer.account_id,
                course_public_id=self.course.public_id,
                card_number=self.buyer.card_number,
                key=key,
                now=NOW,
            ).public_id
            self.code = sms_code(s, self.buyer.phone)

    def confirm(self, s):
        return self.confirm_with(s, self.code)

    def confirm_with(self, s, code):
        return service_purchase.confirm_purchase(
            s, account_id=self.buyer.account_id, order_public_id=self.public_id, code=code, now=NOW
        )


def test_many_simultaneous_purchases_on_one_card_hold_the_price_once(db):
    with db.transaction() as s:
        platform, provider = make_partner(s, "platform"), make_partner(s, "provider")
        courses = [make_course(s, platform, provider, price=1_000_000 + i) for i in range(THREADS)]
        buyer = make_buyer(s)
        pending = []
        for i, course in enumerate(courses):
            order = service_purchase.start_purchase(
                s,
                account_id=buyer.account_id,
                course_public_id=course.public_id,
                card_number=buyer.card_number,
                key=f"race-{i:04d}",
                now=NOW,
            )
            pending.append((order.public_id, sms_code(s, buyer.phone)))

    def confirm(public_id, code):
        def call():
            with db.transaction() as s:
                service_purchase.confirm_purchase(
                    s, account_id=buyer.account_id, order_public_id=public_id, code=code, now=NOW
                )

        return call

    outcomes = at_once([confirm(*p) for p in pending])
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "unfinished_course"}, outcomes
    with db.sessions() as s:
        placed = s.scalars(select(Order).where(Order.status == "pending")).all()
        assert len(placed) == 1
        balance, available = ledger.balance(s, buyer.account_code)
        assert (balance, available) == (3_500_000, 3_500_000 - placed[0].amount)
        assert check_ledger(s) == []


def test_one_order_confirmed_many_times_at_once_is_placed_once_and_answered_alike(db):
    """A double tap: every confirm of the same order answers the one placed order (the losers
    see the winner's voucher, not one of their own), one hold, a sound ledger."""
    tap = _Tap(db, "tap-0001", price=1_200_000)
    buyer, public_id = tap.buyer, tap.public_id
    answers: list[tuple[str, str | None]] = []

    def confirm():
        with db.transaction() as s:
            placed = tap.confirm(s)
            answers.append((placed.status, placed.voucher_code))

    outcomes = at_once([confirm] * 6)
    assert outcomes == ["ok"] * 6, outcomes
    with db.sessions() as s:
        stored = s.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert stored.status == "pending"
        assert set(answers) == {("pending", stored.voucher_code)}
        assert ledger.balance(s, buyer.account_code) == (3_500_000, 2_300_000)
        assert check_ledger(s) == []


def test_a_confirm_that_read_the_order_before_its_twin_placed_it_answers_the_placed_order(
    db, monkeypatch
):
    """The double tap's other order of events, made deterministic: the second confirm reads the
    order awaiting its code (and, in the same statement, the open code), then the first
    commits. It must answer the placed order, not 'code expired' - which, being a counted
    refusal, the API commits, and which once marked the placed order (with its hold) expired,
    when the code was read in a statement of its own after the twin had used it."""
    tap = _Tap(db, "tap-0002", price=1_100_000)
    buyer, public_id, confirm = tap.buyer, tap.public_id, tap.confirm

    read = service_purchase._confirm_facts
    first_done = []

    def read_then_let_the_twin_win(session, account_id, order_public_id):
        found = read(session, account_id, order_public_id)
        if not first_done:
            first_done.append(True)
            with db.transaction() as twin:
                confirm(twin)
        return found

    monkeypatch.setattr(service_purchase, "_confirm_facts", read_then_let_the_twin_win)
    with db.transaction() as s:
        late = confirm(s)
        assert late.status == "pending"
    with db.sessions() as s:
        stored = s.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert stored.status == "pending"
        assert late.voucher_code == stored.voucher_code
        assert ledger.balance(s, buyer.account_code) == (3_500_000, 2_400_000)
        assert check_ledger(s) == []


def test_a_confirm_that_lost_the_claim_to_its_twin_adds_no_seat_and_no_second_webhook(
    db, monkeypatch
):
    """The double tap with both confirms past the code check: the twin commits first, and the
    late confirm's claim then matches no row. It answers the placed order and writes nothing
    more: no second seat of a limited course, no second order.placed webhook."""
    tap = _Tap(db, "tap-0003", price=1_000_000, capacity=5, mode="webinar")
    platform, course, buyer, public_id, confirm = (
        tap.platform,
        tap.course,
        tap.buyer,
        tap.public_id,
        tap.confirm,
    )

    checked = service_purchase._refuse_if_locked  # runs after the codes are read
    twin_done = []

    def codes_read_then_the_twin_wins(locked, now):
        checked(locked, now)
        if not twin_done:
            twin_done.append(True)
            with db.transaction() as twin:
                confirm(twin)

    monkeypatch.setattr(service_purchase, "_refuse_if_locked", codes_read_then_the_twin_wins)
    with db.transaction() as s:
        late = confirm(s)
    with db.sessions() as s:
        stored = s.scalars(select(Order).where(Order.public_id == public_id)).one()
        assert (late.status, late.voucher_code) == ("pending", stored.voucher_code)
        assert s.scalar(select(Course.seats_taken).where(Course.id == course.id)) == 1
        events = s.scalars(
            select(WebhookDelivery.event).where(WebhookDelivery.partner_id == platform.id)
        ).all()
        assert events.count("order.placed") == 1
        assert ledger.balance(s, buyer.account_code) == (3_500_000, 2_500_000)
        assert check_ledger(s) == []


def test_racing_confirm_and_cancel_calls_leave_a_sound_ledger(db):
    with db.transaction() as s:
        platform, provider = make_partner(s, "platform"), make_partner(s, "provider")
        course = make_course(s, platform, provider, price=900_000, capacity=5, mode="webinar")
        buyer = make_buyer(s)
        order = service_purchase.start_purchase(
            s,
            account_id=buyer.account_id,
            course_public_id=course.public_id,
            card_number=buyer.card_number,
            key="race-x",
            now=NOW,
        )
        service_purchase.confirm_purchase(
            s,
            account_id=buyer.account_id,
            order_public_id=order.public_id,
            code=sms_code(s, buyer.phone),
            now=NOW,
        )
        ids = (platform.id, order.public_id)

    def partner_call(kind):
        def call():
            with db.transaction() as s:
                partner = s.get(Partner, ids[0])
                if kind == "confirm":
                    service_order.confirm_order(s, partner=partner, order_public_id=ids[1], now=NOW)
                else:
                    service_order.cancel_order(
                        s, partner=partner, order_public_id=ids[1], reason="race", now=NOW
                    )

        return call

    outcomes = at_once([partner_call("confirm" if i % 2 else "cancel") for i in range(8)])
    assert len(outcomes) == 8
    assert set(outcomes) <= {"ok", "order_state_conflict"}, outcomes
    with db.sessions() as s:
        status = s.scalar(select(Order.status).where(Order.public_id == ids[1]))
        assert status in ("cancelled", "refunded")
        assert ledger.balance(s, buyer.account_code) == (3_500_000, 3_500_000)
        assert s.scalar(select(Course.seats_taken).where(Course.id == course.id)) == 0
        assert check_ledger(s) == []


def _guess(db, tap, code):
    """One guess as the API makes it: a counted refusal commits its count."""
    s = db.sessions()
    try:
        tap.confirm_with(s, code)
        s.commit()
    except CountedRefusal:
        s.commit()
        raise
    finally:
        s.close()


def test_wrong_codes_guessed_while_this_one_was_checked_are_all_counted(db, monkeypatch):
    """Two wrong guesses land after this request read the code and before it counts its own
    wrong guess. A count written from what this request read (0 + 1) would lose both; the
    three must lock the card's purchases and kill the code."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one writer at a time: a reader that others wrote past cannot")
    tap = _Tap(db, "tap-guess", price=1_000_000)
    wrong = f"{(int(tap.code) + 1) % 1_000_000:06d}"
    checked = service_purchase._refuse_if_locked  # runs after the code is read
    others = []

    def read_then_let_two_guesses_in(locked, now):
        if not others:
            others.append(True)
            for _ in range(2):
                with pytest.raises(WrongCode):
                    _guess(db, tap, wrong)
        return checked(locked, now)

    monkeypatch.setattr(service_purchase, "_refuse_if_locked", read_then_let_two_guesses_in)
    with pytest.raises(service_purchase.PurchaseLocked):
        _guess(db, tap, wrong)
    monkeypatch.undo()
    with db.sessions() as s:
        code = s.scalars(select(PurchaseCode)).one()
        assert (code.attempts, code.status) == (3, "dead")
    with pytest.raises(service_purchase.PurchaseLocked):  # even the right code, for an hour
        _guess(db, tap, tap.code)


def test_many_wrong_codes_at_once_are_each_counted(db):
    tap = _Tap(db, "tap-burst", price=1_000_000)
    wrong = f"{(int(tap.code) + 1) % 1_000_000:06d}"
    outcomes = at_once([lambda: _guess(db, tap, wrong)] * THREADS)
    assert outcomes.count("wrong_code") <= 2, outcomes
    assert set(outcomes) <= {"wrong_code", "purchase_locked", "code_expired"}, outcomes
    with db.sessions() as s:
        code = s.scalars(select(PurchaseCode)).one()
        assert (code.attempts, code.status) == (3, "dead")
