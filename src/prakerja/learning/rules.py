"""Pure learning rules: the redeem window, attendance, completion and review checks, quality
flags and name masking. No session, no clock, no I/O; errors name the rule that failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from prakerja.kit.errors import Conflict, Invalid, NotFound, RateLimited

REDEEM_MARGIN = dt.timedelta(hours=1)
FACE_ATTEMPTS = 5
METHODS = ("face", "qr")
REVIEW_MIN_CHARS, REVIEW_MAX_CHARS = 10, 2000


class EnrolmentNotFound(NotFound):
    code = "enrolment_not_found"
    title = "Enrolment not found"


class RedeemCodeNotFound(NotFound):
    code = "redeem_code_not_found"
    title = "No such redeem code for this session"


class RedeemWindowClosed(Conflict):
    code = "redeem_window_closed"
    title = (
        "The redeem code is valid only from one hour before to one hour after the session starts"
    )


class EnrolmentNotActive(Conflict):
    code = "enrolment_not_active"
    title = "The order is not a confirmed enrolment"


class NotRedeemed(Conflict):
    code = "session_not_redeemed"
    title = "The session's redeem code has not been committed yet"


class FaceCheckRequired(Conflict):
    code = "face_check_required"
    title = "The recipient has not passed the face check for this session"


class FaceAttemptsExhausted(RateLimited):
    code = "face_attempts_exhausted"
    title = "All face-check attempts for this session are used"


class FaceUnavailable(Conflict):
    code = "face_unavailable"
    title = "The face check service is not answering. Please try again in a few minutes."
    kind = "unavailable"


class BadMethod(Invalid):
    code = "bad_attendance_method"
    title = "Attendance method must be face (online) or qr (offline courses)"


class SessionsNotAttended(Conflict):
    code = "sessions_not_attended"
    title = "Every session must be attended before the course is completed"


class BadScore(Invalid):
    code = "bad_score"
    title = "Scores must be whole numbers from 0 to 100"


class AlreadyReportedDifferently(Conflict):
    code = "already_reported_differently"
    title = "This was already reported with different values"


class NotCompleted(Conflict):
    code = "not_completed"
    title = "The course has not been completed yet"


class BadReview(Invalid):
    code = "bad_review"
    title = "Give 1 to 5 stars and a review of at least 10 characters"


class ReviewExists(Conflict):
    code = "review_exists"
    title = "You have already reviewed this course"


def redeem_window(starts_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(valid_from, valid_until): one hour before to one hour after the start, both inclusive."""
    return starts_at - REDEEM_MARGIN, starts_at + REDEEM_MARGIN


def in_window(valid_from: dt.datetime, valid_until: dt.datetime, now: dt.datetime) -> bool:
    return valid_from <= now <= valid_until


def check_window(valid_from: dt.datetime, valid_until: dt.datetime, now: dt.datetime) -> None:
    """Refuse a redeem or face check outside the session's window."""
    if not in_window(valid_from, valid_until, now):
        raise RedeemWindowClosed(
            valid_from=valid_from.isoformat(), valid_until=valid_until.isoformat()
        )


def check_method(method: str, course_mode: str) -> None:
    """Offline courses attend by QR (+ face); online ones by the face check alone."""
    if method not in METHODS or (method == "qr") != (course_mode == "offline"):
        raise BadMethod(f"method {method!r} for a {course_mode} course")


def check_score(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise BadScore()
    return value


def check_all_attended(sessions: int, attended: int) -> None:
    if attended < sessions:
        raise SessionsNotAttended(sessions=sessions, attended=attended)


def progress_percent(sessions: int, attended: int, completed: bool) -> int:
    """Whole percent: 100 once completed, else attended sessions over all sessions."""
    if completed:
        return 100
    return 0 if sessions == 0 else min(99, attended * 100 // sessions)


def check_review(stars: object, text: str) -> tuple[int, str]:
    """1-5 whole stars and a review text of 10-2000 characters (trimmed)."""
    clean = " ".join(text.split())
    if (
        isinstance(stars, bool)
        or not isinstance(stars, int)
        or not 1 <= stars <= 5
        or not REVIEW_MIN_CHARS <= len(clean) <= REVIEW_MAX_CHARS
    ):
        raise BadReview()
    return stars, clean


def mask_name(name: str | None) -> str:
    """'Budi Santoso' -> 'B*** S******' (first letter of each word)."""
    words = (name or "").split()
    return " ".join(w[0] + "*" * (len(w) - 1) for w in words) or "—"


@dataclass(frozen=True)
class QualityFacts:
    enrolments: int
    completions: int
    reviews: int
    rating_x100: int | None
    completion_permille: int | None
    gain_x100: int | None
    complaints: int


MIN_SAMPLE = 5  # below this many enrolments (or reviews) a ratio flags nothing


def quality_flags(q: QualityFacts) -> list[str]:
    """Rules an operator should look at: low rating, low completion, no learning gain, many
    complaints (per 100 enrolments), each only with a large enough sample."""
    flags = []
    if q.reviews >= MIN_SAMPLE and q.rating_x100 is not None and q.rating_x100 < 350:
        flags.append("low_rating")
    if (
        q.enrolments >= MIN_SAMPLE
        and q.completion_permille is not None
        and q.completion_permille < 500
    ):
        flags.append("low_completion")
    if q.completions >= MIN_SAMPLE and q.gain_x100 is not None and q.gain_x100 <= 0:
        flags.append("no_learning_gain")
    if q.enrolments >= MIN_SAMPLE and q.complaints * 100 > q.enrolments * 5:
        flags.append("many_complaints")
    return flags


def provider_score(
    rating_x100: int | None,
    completion_permille: int | None,
    gain_x100: int | None,
    complaints: int,
    enrolments: int,
) -> int:
    """A 0-1000 ranking score: 40% rating, 30% completion, 20% gain, 10% few complaints."""
    rating = 0 if rating_x100 is None else (rating_x100 - 100) * 1000 // 400
    completion = completion_permille or 0
    gain = 0 if gain_x100 is None else max(0, min(1000, gain_x100 * 1000 // 5000))
    calm = 1000 if enrolments == 0 else max(0, 1000 - complaints * 10_000 // enrolments)
    return (4 * max(0, rating) + 3 * completion + 2 * gain + calm) // 10


class CertificateNotFound(NotFound):
    code = "certificate_not_found"
    title = "Certificate not found"
