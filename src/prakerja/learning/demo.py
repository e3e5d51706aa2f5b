"""Demo data of learning: recipients at every point after the card, through the real services.

Four recipients the banner names: one with a fresh card and nothing bought, one learning (a
webinar whose first session starts within the hour), one who finished a course (certificate
issued) and still owes the mandatory review, one who reviewed. A dozen more finish or follow
courses so the quality board has ratings, completion rates and learning gains to compare.

Each purchase is what the browser and the platform do: the citizen starts it with the card
number, types the code from the SMS (read from the outbox, as the dev inbox shows it) and the
platform confirms the order and redeems the voucher; the platform then reports the completion
with pre/post scores and its own certificate number, and the recipient gives the review.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.kit.notify import Notification
from prakerja.learning import service_completion, service_quality, service_review
from prakerja.marketplace import service_order, service_partner, service_purchase
from prakerja.marketplace.model import Order, Partner
from prakerja.wallet.demo import Holder, holders

if TYPE_CHECKING:
    from prakerja.demo import DemoEnv

DAY = dt.timedelta(days=1)
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class Story(NamedTuple):
    """One recipient's course: bought, then (with scores) finished, then (with stars) reviewed."""

    course: str  # the course's external ref (marketplace demo)
    scores: tuple[int, int] | None = None  # pre, post: the platform reported completion
    stars: int | None = None
    review: str = ""


NAMED = {  # banner key -> story; "fresh" buys nothing
    "fresh": None,
    "learning": Story("pemasaran-umkm"),
    "to_review": Story("python-dasar", (42, 86)),
    "reviewed": Story("akuntansi-spreadsheet", (38, 82), 5, "Materinya runtut dan praktis."),
}
OTHERS = (
    Story("desain-canva", (35, 80), 5, "Langsung bisa membuat poster untuk jualan saya."),
    Story("desain-canva", (50, 78), 4, "Bagus, tetapi videonya terlalu panjang."),
    Story("desain-canva", (40, 62), 3, "Cukup membantu untuk pemula."),
    Story("python-dasar", (30, 85), 5, "Penjelasannya jelas dan latihannya banyak."),
    Story("python-dasar", (45, 70), 4, "Agak sulit untuk pemula, tetapi bermanfaat."),
    Story("akuntansi-spreadsheet", (55, 60), 2, "Materinya terlalu singkat dan kurang praktik."),
    Story("akuntansi-spreadsheet", (48, 79), 4, "Membantu mencatat keuangan warung saya."),
    Story("python-dasar", (52, 74)),
    Story("inggris-hotel"),
    Story("inggris-hotel"),
    Story("barista"),
    Story("teknisi-ac"),
)


def demo_seed(session: Session, now: dt.datetime, env: DemoEnv) -> None:
    """Every story played through; the quality rollup rebuilt so the board shows them."""
    cast = [*NAMED.items(), *((None, story) for story in OTHERS)]
    people = holders(session, env.found["wave.drawn"], len(cast))
    platform = service_partner.partner_by_code(session, env.found["platform.code"])
    for n, (holder, (key, story)) in enumerate(zip(people, cast, strict=False)):
        order = None
        if story is not None:
            start = now - 3.5 * DAY + n * dt.timedelta(hours=2)  # after the cards, in turn
            order = _play(session, env, platform, holder, story, start, now)
        if key is not None:
            _note(session, env, key, holder, order)
    service_quality.refresh_quality(session, now=now)


def _note(session: Session, env: DemoEnv, key: str, holder: Holder, order: Order | None) -> None:
    """What the banner and the tests need of a named recipient: login, order, certificate."""
    env.found[f"recipient.{key}"] = holder.email
    if order is None:
        return
    env.found[f"order.{key}"] = order.public_id
    if key == "to_review":
        cert = service_completion.certificate_of_order(session, order.id)
        env.found["certificate"] = cert.public_id


def _play(
    session: Session,
    env: DemoEnv,
    platform: Partner,
    holder: Holder,
    story: Story,
    start: dt.datetime,
    now: dt.datetime,
) -> Order:
    order = buy(session, holder, env.found[f"course.{story.course}"], platform, start)
    if story.scores is not None:
        _finish(session, platform, order, story.scores, now - 2 * DAY)
    if story.stars is not None:
        service_review.submit_review(
            session,
            account_id=holder.account_id,
            order_public_id=order.public_id,
            stars=story.stars,
            text=story.review,
            now=now - DAY,
        )
    return order


def buy(
    session: Session, holder: Holder, course_id: str, platform: Partner, at: dt.datetime
) -> Order:
    """The citizen buys with the card number and the SMS code; the platform confirms the order
    and redeems the voucher minutes later."""
    order = service_purchase.start_purchase(
        session,
        account_id=holder.account_id,
        course_public_id=course_id,
        card_number=holder.card_number,
        key=f"demo-{holder.account_id}",
        now=at,
    )
    service_purchase.confirm_purchase(
        session,
        account_id=holder.account_id,
        order_public_id=order.public_id,
        code=_last_sms_code(session, holder.phone),
        now=at + dt.timedelta(minutes=1),
    )
    confirmed = service_order.confirm_order(
        session, partner=platform, order_public_id=order.public_id, now=at + dt.timedelta(minutes=5)
    )
    service_order.redeem_voucher(
        session,
        partner=platform,
        code=confirmed.voucher_code or "",
        now=at + dt.timedelta(minutes=9),
    )
    return confirmed


def _last_sms_code(session: Session, phone: str) -> str:
    """The 6-digit code of the newest SMS to `phone` (what the citizen reads on the phone)."""
    body = session.scalar(
        select(Notification.body)
        .where(Notification.channel == "sms", Notification.recipient == phone)
        .order_by(Notification.id.desc())
        .limit(1)
    )
    found = CODE.search(body or "")
    if found is None:
        raise LookupError(f"no purchase code was texted to {phone}")
    return found.group(1)


def _finish(
    session: Session, platform: Partner, order: Order, scores: tuple[int, int], at: dt.datetime
) -> None:
    """The platform reports the completion (our certificate is issued with it), then its own
    certificate number."""
    service_completion.record_completion(
        session,
        order_id=order.id,
        pre_score=scores[0],
        post_score=scores[1],
        partner_id=platform.id,
        now=at,
    )
    service_completion.report_certificate(
        session,
        partner_id=platform.id,
        order_public_id=order.public_id,
        number=f"BN-{at:%Y}-{order.id:05d}",
        url=None,
        now=at + dt.timedelta(hours=1),
    )
