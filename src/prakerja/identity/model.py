"""Tables of the identity context."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

CITIZEN, STAFF = "citizen", "staff"
# assessor: judges submitted courses (approve or reject), apart from the operators who curate
# partners, so the one who brings a partner in does not also pass its courses.
ROLES = ("admin", "operator", "finance", "agent", "analyst", "auditor", "assessor")


class Account(Base):
    """A login: a citizen or a staff member. Email is stored lower-cased."""

    __tablename__ = "account"
    __table_args__ = (
        # A phone number belongs to at most one active account.
        Index(
            "uq_account_active_phone",
            "phone",
            unique=True,
            sqlite_where=text("status = 'active' AND phone IS NOT NULL"),
            postgresql_where=text("status = 'active' AND phone IS NOT NULL"),
        ),
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
    # Reset links sent in the clock hour starting at reset_sends_hour (None until the first).
    reset_sends: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reset_sends_hour: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Last accepted TOTP time step, so a staff code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def home_url(self) -> str:
        """Where the header's dashboard link points for this account."""
        return "/staff" if self.kind == STAFF else "/dashboard"

    @property
    def role_list(self) -> list[str]:
        """Roles as a list (staff only)."""
        return [r for r in self.roles.split(",") if r]

    def has_role(self, *roles: str) -> bool:
        """True for staff holding any of `roles` (admin holds every role)."""
        mine = set(filter(None, self.roles.split(",")))
        return self.kind == STAFF and ("admin" in mine or bool(mine & set(roles)))


class LoginChallenge(Base):
    """Step 2 of a citizen login: a 6-digit emailed code, stored as an HMAC, never in clear."""

    __tablename__ = "login_challenge"
    __table_args__ = (Index("ix_login_challenge_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resends: Mapped[int] = mapped_column(Integer, default=0)
    ip: Mapped[str] = mapped_column(String(45), default="")
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """One failed login, for rate limits per email (keyed hash, exists or not) and per IP."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_email_at", "email_key", "at"),
        Index("ix_login_failure_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email_key: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A browser login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # The clear token, set only on the object returned when the session is opened (not stored).
    token = ""


class PhoneChallenge(Base):
    """An SMS code sent to confirm a phone number; a lock after too many wrong codes."""

    __tablename__ = "phone_challenge"
    __table_args__ = (Index("ix_phone_challenge_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
