"""Pure marketplace rules: curation table, purchase checks, order outcomes, signatures."""

import datetime as dt
import itertools
from dataclasses import replace

import pytest

from prakerja.marketplace import rules, signing

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)


def test_the_curation_path_from_applied_to_active_is_allowed():
    path = [
        "applied",
        "due_diligence",
        "assessment",
        "approved",
        "active",
        "warned",
        "suspended",
        "active",
    ]
    for before, after in itertools.pairwise(path):
        rules.check_transition(before, after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("applied", "active"),
        ("applied", "approved"),
        ("rejected", "applied"),
        ("due_diligence", "approved"),
        ("active", "applied"),
        ("suspended", "warned"),
    ],
)
def test_a_skipped_or_backward_curation_step_is_refused(before, after):
    with pytest.raises(rules.BadTransition):
        rules.check_transition(before, after)


def test_a_price_above_the_available_balance_is_refused():
    rules.check_purchase(price=1_000, available=1_000, has_unfinished=False)
    with pytest.raises(rules.PriceAboveBalance):
        rules.check_purchase(price=1_001, available=1_000, has_unfinished=False)


def test_an_unfinished_course_blocks_the_next_purchase():
    with pytest.raises(rules.UnfinishedCourse):
        rules.check_purchase(price=1, available=10, has_unfinished=True)


@pytest.mark.parametrize(
    ("status", "outcome"), [("pending", "post"), ("confirmed", "same"), ("completed", "same")]
)
def test_confirm_outcomes(status, outcome):
    assert rules.confirm_outcome(status) == outcome


@pytest.mark.parametrize("status", ["cancelled", "refunded", "awaiting_code", "expired"])
def test_confirming_a_closed_order_is_a_conflict(status):
    with pytest.raises(rules.OrderStateConflict):
        rules.confirm_outcome(status)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("pending", "void"), ("confirmed", "refund"), ("cancelled", "same"), ("refunded", "same")],
)
def test_cancel_outcomes(status, outcome):
    assert rules.cancel_outcome(status) == outcome


def test_only_the_platform_or_provider_may_cancel_so_buyers_cannot_swap():
    rules.check_may_cancel("platform")
    rules.check_may_cancel("provider")
    with pytest.raises(rules.NoSwapping):
        rules.check_may_cancel("citizen")


def test_a_completed_course_cannot_be_cancelled():
    with pytest.raises(rules.OrderStateConflict):
        rules.cancel_outcome("completed")


def test_what_a_partner_may_do_follows_its_curation_status():
    for status in ("approved", "active", "warned", "suspended"):
        rules.check_may_call(status)
    with pytest.raises(rules.PartnerRejected):
        rules.check_may_call("rejected")
    for status in ("approved", "active", "warned"):
        rules.check_may_trade(status)
    for status in ("suspended", "rejected"):
        with pytest.raises(rules.PartnerNotSelling):
            rules.check_may_trade(status)


def test_a_voucher_is_redeemed_once_and_only_after_confirmation():
    assert rules.redeem_outcome("confirmed", False) == "redeem"
    assert rules.redeem_outcome("confirmed", True) == "same"
    with pytest.raises(rules.OrderStateConflict):
        rules.redeem_outcome("pending", False)


def test_a_course_needs_a_known_mode_and_a_whole_positive_price():
    good = rules.CourseInput(
        "r1", "prov", "Kursus", "Kategori", "webinar", 15, 100_000, capacity=30
    )
    rules.check_course(good)
    for bad in (
        rules.CourseInput("r1", "prov", "Kursus", "Kategori", "radio", 15, 100_000),
        rules.CourseInput("r1", "prov", "Kursus", "Kategori", "webinar", 15, 0),
        rules.CourseInput("r1", "prov", " ", "Kategori", "webinar", 15, 1),
        rules.CourseInput("r1", "prov", "Kursus", "Kategori", "webinar", 0, 1),
    ):
        with pytest.raises(rules.BadCourse):
            rules.check_course(bad)


@pytest.mark.parametrize("mode", ["webinar", "offline"])
def test_a_live_course_needs_a_capacity_and_a_self_paced_one_does_not(mode):
    live = rules.CourseInput("r1", "prov", "Kursus", "Kategori", mode, 15, 100_000)
    with pytest.raises(rules.BadCourse, match="capacity"):
        rules.check_course(live)
    rules.check_course(replace(live, capacity=25))
    rules.check_course(replace(live, mode="self_paced"))


def test_freshness_is_five_minutes_either_side():
    ts = int(NOW.timestamp())
    rules.check_fresh(ts - 300, NOW)
    rules.check_fresh(ts + 300, NOW)
    for off in (-301, 301):
        with pytest.raises(rules.BadSignature):
            rules.check_fresh(ts + off, NOW)


def test_the_signature_covers_method_path_body_and_time():
    base = signing.signature("s3cret", "POST", "/p", b"{}", 100)
    assert signing.matches("s3cret", "post", "/p", b"{}", 100, base.upper())
    assert base != signing.signature("s3cret", "PUT", "/p", b"{}", 100)
    assert base != signing.signature("s3cret", "POST", "/q", b"{}", 100)
    assert base != signing.signature("s3cret", "POST", "/p", b"{ }", 100)
    assert base != signing.signature("s3cret", "POST", "/p", b"{}", 101)
    assert base != signing.signature("other", "POST", "/p", b"{}", 100)
    with_nonce = signing.signature("s3cret", "POST", "/p", b"{}", 100, "n0nce-abc")
    assert with_nonce not in (
        base,
        signing.signature("s3cret", "POST", "/p", b"{}", 100, "n0nce-abd"),
    )
    assert signing.string_to_sign("POST", "/p", b"", 100, "n0nce-abc").endswith("\n100\nn0nce-abc")


@pytest.mark.parametrize("nonce", ["short", "x" * 65, "has space", "semi;colon", "ünïcode"])
def test_a_malformed_nonce_is_not_signed(nonce):
    assert not signing.nonce_is_valid(nonce)
    with pytest.raises(ValueError):
        signing.sign("c", "s", "POST", "/p", nonce=nonce)


def test_the_documented_worked_example_signs_as_shown():
    text = signing.string_to_sign("POST", "/api/partner/v1/orders/abc/confirm", b"", 1767225600)
    assert text == (
        "POST\n/api/partner/v1/orders/abc/confirm\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n1767225600"
    )


def test_the_guides_worked_example_is_what_sign_produces():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "partner-api.md").read_text()
    body = b'{"reason":"trainer unavailable"}'
    sig = signing.signature(
        "demo-secret-please-change",
        "POST",
        "/api/partner/v1/orders/3f2a9c/cancel",
        body,
        1767225600,
    )
    assert f"X-Signature: {sig}" in guide
    with_nonce = signing.signature(
        "demo-secret-please-change",
        "POST",
        "/api/partner/v1/orders/3f2a9c/cancel",
        body,
        1767225600,
        "q9Zr2Lk7xVb1Tn0a",
    )
    assert "X-Nonce: q9Zr2Lk7xVb1Tn0a" in guide
    assert f"X-Signature: {with_nonce}" in guide
