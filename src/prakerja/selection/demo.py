"""Demo data of selection: a wave run from plan to announcement, and a wave open now.

Wave G1-DEMO runs on a calendar two weeks back, through the services behind the admin
pages and `prakerja waves`: planned under the published policy with quotas per kabupaten/kota
weighted by the demo population (`indicators.csv`, the file an operator passes to `prakerja
waves plan --indicator-csv`), its seed committed, opened, joined one by one by the demo citizens
who finished registration, closed, screened, drawn and announced. Its `wallet.issue_card` jobs
are left for the wallet. Wave G2-DEMO is open now, joined by a tenth of them, so the banner's
"ready" citizen can still join a wave in the browser.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.identity.model import Account
from prakerja.registration.model import Person
from prakerja.selection import service, service_announce, service_draw, service_screen
from prakerja.selection.model import Wave
from prakerja.selection.quota import read_indicator_csv

if TYPE_CHECKING:
    from prakerja.demo import DemoEnv

DRAWN, OPEN = "G1-DEMO", "G2-DEMO"
ACTOR = "staff:demo-operator"
APPLICANTS_PER_PLACE = 3  # enough places for a few hundred winners, and non-winners too
DAY = dt.timedelta(days=1)


def demo_seed(session: Session, now: dt.datetime, env: DemoEnv) -> None:
    """Wave G1-DEMO drawn and announced (its winners' card jobs queued), G2-DEMO open."""
    weights = read_indicator_csv((env.workdir / "indicators.csv").read_text(), "population")
    accounts = _registered(session, keep_out=env.logins.ready)
    later = set(accounts[::10])
    drawn = _drawn_wave(session, now, weights, [a for a in accounts if a not in later])
    _open_wave(session, now, weights, sorted(later))
    env.found |= {"wave.drawn": DRAWN, "wave.open": OPEN, "wave.winners": str(drawn.winners)}


def _registered(session: Session, *, keep_out: str) -> list[int]:
    """Login ids of the citizens who finished registration, except the login `keep_out`."""
    rows = session.execute(
        select(Account.id, Account.email)
        .join(Person, Person.account_id == Account.id)
        .where(Person.test_done_at.is_not(None))
        .order_by(Account.id)
    )
    return [account_id for account_id, email in rows if email != keep_out]


def _plan(
    session: Session,
    *,
    code: str,
    name: str,
    opens: dt.datetime,
    places: int,
    weights: dict[str, int],
    at: dt.datetime,
) -> Wave:
    """A national wave open for a week, quotas by population, 2% reserved for the priority
    list (laid-off workers), unfilled places of a region offered to the others; seed
    committed at once (the wave can no longer change)."""
    quota: dict[str, Any] = {
        "indicators": {"population": weights},
        "weights_source": "csv:population",
        "priority_quota": places // 50,
        "redistribute_unfilled": True,
    }
    plan = service.WavePlan(
        code=code,
        name=name,
        opens_at=opens,
        closes_at=opens + 7 * DAY,
        total_quota=places,
        quota=quota,
    )
    wave = service.plan_wave(session, plan=plan, actor=ACTOR, now=at)
    service.publish_commitment(session, wave_id=wave.id, actor=ACTOR, now=at)
    return wave


def _join_all(
    session: Session, wave: Wave, accounts: list[int], start: dt.datetime, until: dt.datetime
) -> None:
    """Each citizen joins with consent, one after another between `start` and `until`."""
    step = (until - start) / max(len(accounts), 1)
    for i, account_id in enumerate(accounts):
        service.join_wave(
            session, account_id=account_id, wave_id=wave.id, consent=True, now=start + i * step
        )


def _drawn_wave(
    session: Session, now: dt.datetime, weights: dict[str, int], accounts: list[int]
) -> Wave:
    opens = now - 12 * DAY  # drawn 4.5 days ago: no first-purchase reminder is due yet
    places = max(2, len(accounts) // APPLICANTS_PER_PLACE)
    wave = _plan(
        session,
        code=DRAWN,
        name="Gelombang 1 (demo)",
        opens=opens,
        places=places,
        weights=weights,
        at=opens - 3 * DAY,
    )
    service.open_wave(session, wave_id=wave.id, actor=ACTOR, now=opens)
    _join_all(session, wave, accounts, opens, opens + 3 * DAY)
    closed = wave.closes_at
    service.close_wave(session, wave_id=wave.id, actor=ACTOR, now=closed)
    service_screen.screen(session, wave_id=wave.id, actor=ACTOR, now=closed + DAY / 4)
    service_draw.run_draw(session, wave_id=wave.id, actor=ACTOR, now=closed + DAY / 2, workers=1)
    announced = closed + DAY
    service_announce.announce(session, wave_id=wave.id, actor=ACTOR, now=announced)
    service.advance(session, wave_id=wave.id, to="purchase_window", actor=ACTOR, now=announced)
    return wave


def _open_wave(
    session: Session, now: dt.datetime, weights: dict[str, int], accounts: list[int]
) -> None:
    opens = now - DAY
    wave = _plan(
        session,
        code=OPEN,
        name="Gelombang 2 (demo)",
        opens=opens,
        places=max(2, 3 * len(accounts)),
        weights=weights,
        at=opens - DAY,
    )
    service.open_wave(session, wave_id=wave.id, actor=ACTOR, now=opens)
    _join_all(session, wave, accounts, opens, now - dt.timedelta(minutes=5))
