"""The journey's order rules (pure)."""

import datetime as dt
from types import SimpleNamespace

import pytest

from prakerja.registration import steps
from prakerja.registration.model import STEPS

T = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def person(**done):
    base = {f"{s}_done_at": None for s in STEPS[:-1]}
    base.update(registry_status="none", face_status="none")
    for step in done.get("steps", ()):
        base[f"{step}_done_at"] = T
    base.update({k: v for k, v in done.items() if k != "steps"})
    return SimpleNamespace(**base)


ACCOUNT = SimpleNamespace(phone=None, phone_verified_at=None)


def test_no_person_yet_starts_at_identity():
    assert steps.next_step(None, ACCOUNT) == "identity"
    assert steps.may_open(None, ACCOUNT, "identity")
    assert not steps.may_open(None, ACCOUNT, "profile")


def test_identity_counts_only_when_the_registry_matched():
    assert steps.next_step(person(steps=["identity"], registry_status="pending")) == "identity"
    assert steps.next_step(person(steps=["identity"], registry_status="matched")) == "profile"


def test_a_failed_face_check_stays_on_face():
    p = person(steps=["identity", "profile", "ktp"], registry_status="matched", face_status="fail")
    assert steps.next_step(p, ACCOUNT) == "face"
    assert "did not pass" in steps.status_text(p, ACCOUNT)


@pytest.mark.parametrize("n", range(len(STEPS)))
def test_steps_follow_the_declared_order(n):
    p = person(steps=STEPS[:n], registry_status="matched", face_status="pass")
    assert steps.next_step(p, ACCOUNT) == STEPS[n]
    assert steps.completed(p, ACCOUNT) == list(STEPS[:n])


def test_a_later_step_never_opens_before_an_earlier_one():
    p = person(steps=["identity"], registry_status="matched")
    assert steps.may_open(p, ACCOUNT, "profile")
    for later in ("ktp", "face", "phone", "statement", "test"):
        assert not steps.may_open(p, ACCOUNT, later)
    assert not steps.may_open(p, ACCOUNT, "identity")  # finished and locked


def test_profile_and_ktp_can_be_revisited_but_face_cannot():
    p = person(
        steps=["identity", "profile", "ktp", "face"], registry_status="matched", face_status="pass"
    )
    assert steps.may_open(p, ACCOUNT, "profile")
    assert steps.may_open(p, ACCOUNT, "ktp")
    assert not steps.may_open(p, ACCOUNT, "face")


def test_a_phone_verified_on_the_account_completes_the_phone_step():
    p = person(
        steps=["identity", "profile", "ktp", "face"], registry_status="matched", face_status="pass"
    )
    verified = SimpleNamespace(phone="+6281234567890", phone_verified_at=T)
    assert steps.next_step(p, ACCOUNT) == "phone"
    assert steps.next_step(p, verified) == "statement"


def test_every_status_has_a_sentence():
    for n in range(len(STEPS)):
        p = person(steps=STEPS[:n], registry_status="matched", face_status="pass")
        assert steps.status_text(p, ACCOUNT).endswith(".")
    assert "automatically" in steps.status_text(person(registry_status="pending"))
    assert "civil registry" in steps.status_text(person(registry_status="mismatch"))
