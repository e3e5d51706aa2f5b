"""Alerts to the on-call operators (every active staff account with the operator role)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from prakerja.feedback import linking
from prakerja.kit import notify


def alert_operators(session: Session, *, subject: str, body: str, now: dt.datetime) -> int:
    """Email every on-call operator (and SMS those with a phone); returns how many were told."""
    contacts = linking.operator_contacts(session)
    for email, phone in contacts:
        notify.send_email(session, to=email, subject=subject, body=body, now=now)
        if phone:
            notify.send_sms(session, to=phone, body=subject[:300], now=now)
    return len(contacts)
