"""Pure journey rules: which step comes next, whether a page may open, what the status says.

No session, no clock: callers pass the Person (or None before it exists) and the Account.
Texts are English msgids; the edge translates them.
"""

from __future__ import annotations

from prakerja.registration.model import STEPS

# Pages the citizen may re-open after finishing them (to correct or replace what they gave).
REVISITABLE = frozenset({"profile", "ktp"})

STEP_TITLES = {
    "identity": "Identity (NIK, KK, date of birth)",
    "profile": "Profile",
    "ktp": "KTP photo",
    "face": "Face check",
    "phone": "Phone number",
    "statement": "Registrant statement",
    "test": "Basic-ability test",
    "done": "Registration complete",
}

STEP_URLS = {
    "identity": "/journey/identity",
    "profile": "/journey/profile",
    "ktp": "/journey/ktp",
    "face": "/journey/face",
    "phone": "/journey/phone",
    "statement": "/journey/statement",
    "test": "/journey/test",
    "done": "/dashboard",
}


def step_done(person: object | None, account: object | None, step: str) -> bool:
    """True when `step` is complete: its *_done_at is set (and the registry/face agreed)."""
    if person is None:
        return False
    done = getattr(person, f"{step}_done_at", None) is not None
    if step == "identity":
        return done and getattr(person, "registry_status", "") == "matched"
    if step == "face":
        return done and getattr(person, "face_status", "") == "pass"
    if step == "phone" and not done:
        return getattr(account, "phone_verified_at", None) is not None and bool(
            getattr(account, "phone", None)
        )
    return done


def next_step(person: object | None, account: object | None = None) -> str:
    """The first unfinished step in journey order, or 'done' when every step is finished."""
    for step in STEPS[:-1]:
        if not step_done(person, account, step):
            return step
    return "done"


def may_open(person: object | None, account: object | None, step: str) -> bool:
    """True when the page of `step` may be shown: it is the next step, or a finished step that
    can be revisited. A later step before an earlier one is never open."""
    current = next_step(person, account)
    if step == current:
        return True
    return STEPS.index(step) < STEPS.index(current) and step in REVISITABLE


def completed(person: object | None, account: object | None) -> list[str]:
    """The finished steps, in journey order."""
    return [s for s in STEPS[:-1] if step_done(person, account, s)]


def status_text(person: object | None, account: object | None = None) -> str:
    """One plain sentence (English msgid) saying where the registration stands."""
    step = next_step(person, account)
    registry = getattr(person, "registry_status", "none") if person is not None else "none"
    if step == "identity" and registry == "pending":
        return (
            "The civil registry did not answer yet. We will check your NIK again "
            "automatically; you do not need to do anything."
        )
    if step == "identity" and registry == "mismatch":
        return (
            "Your data did not match the civil registry. Please check it against your "
            "KTP and family card and try again."
        )
    if step == "face" and getattr(person, "face_status", "none") == "fail":
        return "The face check did not pass. Please try again."
    return {
        "identity": "Start by entering your NIK, family card (KK) number and date of birth.",
        "profile": "Your NIK is verified. Next, complete your profile.",
        "ktp": "Next, upload a photo of your KTP.",
        "face": "Next, take the face check.",
        "phone": "Next, confirm your phone number.",
        "statement": "Next, fill in the registrant statement.",
        "test": "Next, take the basic-ability test.",
        "done": "Your registration is complete.",
    }[step]
