"""Selection jobs: `selection.announce` tells one applicant their outcome (SMS if selected)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from prakerja.identity.model import Account
from prakerja.kit import jobs, notify
from prakerja.kit.i18n import gettext
from prakerja.registration.model import Person
from prakerja.selection.model import Application, Wave

SELECTED_SMS = (
    "Congratulations, you were selected in Kartu Prakerja wave %(wave)s. Log in to "
    "your dashboard to see your card. Never share your codes with anyone."
)


@jobs.handler("selection.announce")
def announce_one(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Mark the application announced; SMS the selected. Runs at most one SMS per application."""
    application = session.get(Application, (int(payload["wave_id"]), int(payload["person_id"])))
    if application is None or application.announced_at is not None:
        return
    if application.status == "selected":
        person = session.get(Person, application.person_id)
        account = session.get(Account, person.account_id) if person else None
        wave = session.get(Wave, application.wave_id)
        if account is not None and account.phone and wave is not None:
            body = gettext(account.language or "id", SELECTED_SMS, wave=wave.name)
            notify.send_sms(session, to=account.phone, body=body, now=now)
    application.announced_at = now
