"""Pure marketplace rules: curation transitions, purchase checks, order state machine, errors."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from prakerja.kit.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated

# Curation: from -> the states a staff step may move a partner to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "applied": ("due_diligence", "rejected"),
    "due_diligence": ("assessment", "rejected"),
    "assessment": ("approved", "rejected"),
    "approved": ("active", "suspended"),
    "active": ("warned", "suspended"),
    "warned": ("active", "suspended"),
    "suspended": ("active",),
    "rejected": (),
}
SELLING = ("active", "warned")  # partner states whose approved courses are on sale
# A suspended partner sells nothing new, but what protects citizens already enrolled stays open
# to it: cancelling (which refunds them) and reporting their learning (attendance, completion,
# certificates). It may not publish, schedule, confirm orders or redeem vouchers.
NOT_TRADING = ("suspended", "rejected")
MODES = ("webinar", "self_paced", "offline")
# Live courses have a room (or a video room) of a fixed size: selling more seats than it holds
# would leave paid-up citizens without a place. Self-paced courses have no such limit.
SEATED_MODES = ("webinar", "offline")
COURSE_STATUSES = ("submitted", "approved", "rejected", "withdrawn")
CODE_TTL = dt.timedelta(minutes=10)
CODE_MAX_TRIES = 3
CODE_LOCK = dt.timedelta(hours=1)
FRESHNESS = dt.timedelta(minutes=5)
# A placed order holds the citizen's price, a seat and their one open order per card until the
# platform confirms it, which it does within minutes of the `order.placed` webhook. Three days
# outlast a platform's weekend outage and the webhook's retries (a delivery given up on after
# them never reaches the platform at all); after that the programme cancels the order as the
# platform would, so a platform that never answers cannot keep a citizen's money and seat held
# while their spending deadlines run.
CONFIRM_WITHIN = dt.timedelta(days=3)
_CODE = re.compile(r"[a-z][a-z0-9_-]{1,39}")


class BadTransition(Conflict):
    code = "curation_transition_refused"
    title = "This curation step is not allowed from the partner's current state"


class PartnerNotFound(NotFound):
    code = "partner_not_found"
    title = "Partner not found"


class PartnerExists(Conflict):
    code = "partner_exists"
    title = "A partner with this code already exists"


class BadPartner(Invalid):
    code = "bad_partner"
    title = "The partner details are not valid"


class PartnerNotSelling(Forbidden):
    code = "partner_not_selling"
    title = "This partner is not active in the programme"


class PartnerRejected(Forbidden):
    code = "partner_rejected"
    title = "This partner was not admitted to the programme"


class CourseNotFound(NotFound):
    code = "course_not_found"
    title = "Course not found"


class CourseNotOnSale(Conflict):
    code = "course_not_on_sale"
    title = "This course is not on sale"


class CourseFull(Conflict):
    code = "course_full"
    title = "This course has no seats left"


class BadCourse(Invalid):
    code = "bad_course"
    title = "The course details are not valid"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class OrderStateConflict(Conflict):
    code = "order_state_conflict"
    title = "The order is not in a state that allows this"


class PriceAboveBalance(Conflict):
    code = "price_above_balance"
    title = "The course price is more than your available balance"


class UnfinishedCourse(Conflict):
    code = "unfinished_course"
    title = "Finish your current course before buying another one"


class CardNotUsable(Forbidden):
    code = "card_not_usable"
    title = "This card number is not an active card of yours"


class FirstPurchaseDeadlinePassed(Forbidden):
    code = "first_purchase_deadline_passed"
    title = "The deadline for buying your first course has passed"


class PhoneNotVerified(Forbidden):
    code = "phone_not_verified"
    title = "Confirm your mobile number before buying a course"


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    title = "Voucher not found"


class CredentialNotFound(NotFound):
    code = "credential_not_found"
    title = "Credential not found"


class TooManyCredentials(Conflict):
    code = "too_many_credentials"
    title = "Revoke the retiring credential before issuing another one"


class BadSignature(Unauthenticated):
    code = "bad_signature"
    title = "The request signature is missing, wrong or stale"


class NoSwapping(Forbidden):
    code = "no_swapping"
    title = "A bought course cannot be cancelled or swapped by the buyer"


def check_transition(current: str, target: str) -> None:
    """Refuse a curation step the table does not allow."""
    if target not in TRANSITIONS.get(current, ()):
        raise BadTransition(f"{current} -> {target}")


def check_may_call(status: str) -> None:
    """A partner refused at curation may call nothing, whatever keys it still holds."""
    if status == "rejected":
        raise PartnerRejected()


def check_may_trade(status: str) -> None:
    """Publishing, scheduling, confirming orders and redeeming vouchers need a partner that is
    neither suspended nor rejected (see NOT_TRADING for what a suspended one may still do)."""
    if status in NOT_TRADING:
        raise PartnerNotSelling(f"a {status} partner may not do this")


def check_partner_code(code: str) -> str:
    """A lower-case slug of 2-40 characters."""
    if not _CODE.fullmatch(code):
        raise BadPartner("code must be a lower-case slug (a-z, 0-9, - or _), 2-40 characters")
    return code


@dataclass(frozen=True)
class CourseInput:
    external_ref: str
    provider_code: str
    title: str
    category: str
    mode: str
    hours: int
    price: int
    syllabus: str = ""
    has_pretest: bool = True
    has_posttest: bool = True
    capacity: int | None = None


def check_course(course: CourseInput) -> None:
    """Whole positive price and hours, a known mode, a title; offline/webinar need a capacity."""
    problems = []
    if course.mode not in MODES:
        problems.append(f"mode must be one of {', '.join(MODES)}")
    if isinstance(course.price, bool) or not isinstance(course.price, int) or course.price <= 0:
        problems.append("price must be a positive whole number of rupiah")
    if not 0 < course.hours <= 1000:
        problems.append("hours must be between 1 and 1000")
    if not course.title.strip() or not course.category.strip():
        problems.append("title and category are required")
    if course.capacity is not None and course.capacity <= 0:
        problems.append("capacity must be positive")
    elif course.capacity is None and course.mode in SEATED_MODES:
        problems.append("a webinar or offline course needs a capacity (seats)")
    if problems:
        raise BadCourse("; ".join(problems))


def check_session_times(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """A session ends after it starts and lasts at most a day."""
    if not starts_at < ends_at <= starts_at + dt.timedelta(days=1):
        raise BadCourse("a session must end after it starts and last at most 24 hours")


def check_purchase(*, price: int, available: int, has_unfinished: bool) -> None:
    """Price at most the available balance; no second course before the first is finished."""
    if has_unfinished:
        raise UnfinishedCourse()
    if price > available:
        raise PriceAboveBalance(price=price, available=available)


def is_locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    return locked_until is not None and locked_until > now


def check_fresh(timestamp: int, now: dt.datetime) -> None:
    """A signed request is accepted only within five minutes of its timestamp (either side)."""
    if abs(now.timestamp() - timestamp) > FRESHNESS.total_seconds():
        raise BadSignature("the timestamp is more than five minutes away from our clock")


# Partner order calls: (current status) -> result. "same" = already done, answer unchanged.
def confirm_outcome(status: str) -> str:
    """'post' from pending, 'same' when already confirmed or later; else a conflict."""
    if status == "pending":
        return "post"
    if status in ("confirmed", "completed"):
        return "same"
    raise OrderStateConflict(f"an order that is {status} cannot be confirmed")


def check_may_cancel(who: str) -> None:
    """Only the selling platform or the course's provider cancels; buyers cannot swap courses."""
    if who not in ("platform", "provider"):
        raise NoSwapping()


def cancel_outcome(status: str) -> str:
    """'void' a pending hold, 'refund' a confirmed purchase, 'same' if already cancelled."""
    if status == "pending":
        return "void"
    if status == "confirmed":
        return "refund"
    if status in ("cancelled", "refunded"):
        return "same"
    raise OrderStateConflict(f"an order that is {status} cannot be cancelled")


def redeem_outcome(status: str, redeemed: bool) -> str:
    """A voucher is redeemed once, only on a confirmed order; a repeat answers the same."""
    if status not in ("confirmed", "completed"):
        raise OrderStateConflict(f"the voucher of an order that is {status} cannot be redeemed")
    return "same" if redeemed else "redeem"


# --- batches (cohorts) -------------------------------------------------------------------------


class ChooseBatch(Invalid):
    code = "choose_batch"
    title = "Choose the batch (schedule) you want to join"


class NoBatchOpen(Conflict):
    code = "no_batch_open"
    title = "Every batch of this course has already started; wait for the next one"


def open_batches(first_starts: dict[str, dt.datetime], now: dt.datetime) -> list[str]:
    """The batches a buyer may still join: those whose first session has not started yet,
    soonest first. `first_starts`: batch -> the start of its first session."""
    return [b for b, start in sorted(first_starts.items(), key=lambda kv: kv[1]) if start > now]


def pick_batch(
    first_starts: dict[str, dt.datetime], wanted: str | None, now: dt.datetime
) -> str | None:
    """The batch an order joins: None for a course without sessions (self-paced); the one
    asked for if it is still open; the only open one when none was asked for."""
    if not first_starts:
        return None
    joinable = open_batches(first_starts, now)
    if not joinable:
        raise NoBatchOpen()
    if wanted is None and len(joinable) == 1:
        return joinable[0]
    if wanted not in joinable:
        raise ChooseBatch(batches=joinable)
    return wanted
