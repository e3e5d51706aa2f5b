"""Pure identity rules: email, password policy, phone numbers, limits. No session, no clock."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

# Limits (DOMAIN.md: 5 resends then a 2-hour lock; SMS: 3 wrong codes lock for an hour).
CODE_TTL = dt.timedelta(minutes=10)
CODE_MAX_TRIES = 5
RESEND_MAX = 5
RESEND_LOCK = dt.timedelta(hours=2)
# Wrong login codes per account within RESEND_LOCK, over all its challenges, before its login
# locks for RESEND_LOCK: a fresh challenge needs only the password, so without this whoever
# knows the password could keep opening challenges and guessing (1 in a million per guess).
CODE_WRONG_MAX = 10
FAILURE_WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_EMAIL = 10
# Indonesian mobile carriers put many people behind one address (CGNAT), so an IP gets more room
# than one account; it still stops a single source from sweeping through many accounts.
FAILURES_PER_IP = 30
SESSION_IDLE = dt.timedelta(hours=12)
SESSION_TOUCH = dt.timedelta(minutes=5)
VERIFY_LINK_TTL = dt.timedelta(hours=48)
RESET_LINK_TTL = dt.timedelta(hours=1)
# Reset links emailed per account per clock hour: enough for a lost message, too few to flood
# an inbox.
RESETS_PER_HOUR = 3
PHONE_SENDS_PER_HOUR = 5
PHONE_MAX_TRIES = 3
PHONE_LOCK = dt.timedelta(hours=1)
# Spent login/phone codes, failed-login records and ended sessions are kept this long after
# they stop mattering (for abuse investigations), then deleted by the daily purge job.
RETENTION = dt.timedelta(days=30)
PASSWORD_MIN = 10
PASSWORD_MAX = 256

# Passwords people pick when told "at least 10 characters" (global and Indonesian favourites);
# checked case-insensitively and with trailing digits/punctuation stripped.
_COMMON = """
password passwords passw0rd password1 qwerty qwertyuiop qwertyuiopasdf asdfghjkl asdfghjkl;
zxcvbnm 1q2w3e4r5t 1qaz2wsx3edc iloveyou letmein welcome admin administrator football baseball
superman batman princess sunshine starwars dragon monkey whatever trustno1 changeme abcdefghij
abcdefg abc abcd abcde indonesia indonesiaraya bismillah alhamdulillah subhanallah sayangku
sayangkamu cintaku akusayangkamu rahasia rahasiaku katasandi katakunci kartuprakerja prakerja
prakerjaku garuda merdeka jakarta bandung surabaya semarang persib persija doraemon pancasila
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())

_PHONE_CLEAN = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"8[1-9]\d{7,10}")  # national significant number of a mobile line


def normalise_email(raw: str) -> str | None:
    """The lower-cased address if it is syntactically valid, else None (no DNS lookups)."""
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return info.normalized.lower()


def password_problem(password: str, email: str = "") -> str | None:
    """Why a password is refused (a short reason code), or None if it is acceptable."""
    if len(password) < PASSWORD_MIN:
        return "too_short"
    if len(password) > PASSWORD_MAX:
        return "too_long"
    lowered = password.lower()
    core = lowered.rstrip("0123456789!@#$%^&*.?_- ")
    if lowered in COMMON_PASSWORDS or core in COMMON_PASSWORDS:
        return "common"
    if len(set(lowered)) < 4 or len(set(core)) < 3 or _is_sequence(lowered):
        return "trivial"
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and (local in lowered or lowered in email.lower()):
        return "contains_email"
    return None


def _is_sequence(text: str) -> bool:
    """True for runs like 0123456789, 9876543210 or abcdefghijk (wrapping around allowed)."""
    for run in ("01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm"):
        if text in run or text in run[::-1]:
            return True
    return False


def normalise_phone(raw: str) -> str | None:
    """An Indonesian mobile number (08.., 628.., +628..) as E.164 '+628...', else None."""
    number = _PHONE_CLEAN.sub("", raw.strip())
    if number.startswith("+62"):
        national = number[3:]
    elif number.startswith("62"):
        national = number[2:]
    elif number.startswith("0"):
        national = number[1:]
    else:
        return None
    return "+62" + national if _MOBILE.fullmatch(national) else None


def mask_phone(phone: str) -> str:
    """'+6281234567890' -> '+62812*****890' for messages and pages."""
    return phone[:6] + "*" * max(0, len(phone) - 9) + phone[-3:]


def is_local_path(target: str | None) -> bool:
    """True for a same-site path like '/dashboard?x=1' (never '//host', a scheme or a backslash)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and all(ord(c) >= 32 for c in target)


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """`target` if it is a local path, else `default` (no open redirects)."""
    return target if target and is_local_path(target) else default


def is_locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    """True while a lock is in force."""
    return locked_until is not None and locked_until > now
