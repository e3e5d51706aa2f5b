"""Tables of the identity context."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

CITIZEN, STAFF = "citizen", "staff"
ROLES = ("admin", "operator", "finance", "agent", "analyst", "auditor")


class Account(Base):
    """A login: a citizen or a staff member. Email is stored lower-cased."""

    __tablename__ = "account"
    __table_args__ = (
        # A phone number belongs to at most one active account.
        Index("uq_account_active_phone", "phone", unique=True,
              sqlite_where=text("status = 'active' AND phone IS NOT NULL"),
              postgresql_where=text("status = 'active' AND phone IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8), default=CITIZEN)  # citizen | staff
    roles: Mapped[str] = mapped_column(String(200), default="")  # comma-separated, staff only
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | blocked
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164 +62...
    phone_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    language: Mapped[str] = mapped_column(String(2), default="id")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def has_role(self, *roles: str) -> bool:
        """True for staff holding any of `roles` (admin holds every role)."""
        mine = set(filter(None, self.roles.split(",")))
        return self.kind == STAFF and ("admin" in mine or bool(mine & set(roles)))
