"""The agent console, the operators' charts and the public "you said, we fixed" page."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from prakerja.feedback import grouping
from prakerja.feedback.model import Incident, Ticket
from prakerja.feedback.service_intake import ingest_many
from prakerja.kit.clock import utc_now

from .desk_helpers import chat, form_token, make_account


def _open_incident(**extra: str) -> Incident:
    """An open login/OTP incident of 25 messages against none before."""
    now = utc_now()
    return Incident(
        topic="login_otp", dimension="all", value="", window_start=now, opened_at=now,
        baseline_count=0, current_count=25, sample_message_ids=[], status="open", **extra,
    )  # fmt: skip


def _seed(db):
    now = utc_now()
    rows = [
        chat("q1", "mau kasih saran fitur", at=now),
        chat("q2", "ada penipuan, orang minta uang untuk daftar, joki", at=now),
        chat("q3", "sertifikat belum muncul", at=now, author_email="q3@example.id"),
    ]
    with db.transaction() as s:
        ingest_many(s, rows, now=now)
        return {t.subject[:5]: t.id for t in s.scalars(select(Ticket))}


def test_the_queue_shows_urgent_first_and_filters_by_topic(db, client):
    ids = _seed(db)
    make_account(db, roles="agent").login(client)
    page = client.get("/desk").text
    assert page.index(f"/desk/tickets/{ids['ada p']}") < page.index(f"/desk/tickets/{ids['mau k']}")
    filtered = client.get("/desk", params={"topic": "certificate_completion"}).text
    assert f"/desk/tickets/{ids['serti']}" in filtered
    assert f"/desk/tickets/{ids['ada p']}" not in filtered


def test_citizens_and_strangers_cannot_open_the_desk(db, client):
    assert client.get("/desk", follow_redirects=False).status_code == 303
    make_account(db).login(client)
    assert client.get("/desk").status_code == 403


def test_an_agent_replies_with_a_form_and_the_ticket_moves_on(db, client):
    ids = _seed(db)
    agent = make_account(db, roles="agent")
    token = form_token(agent.login(client), f"/desk/tickets/{ids['serti']}")
    resp = client.post(
        f"/desk/tickets/{ids['serti']}/reply", data={"csrf_token": token, "body": "Sedang kami cek"}
    )
    assert resp.status_code == 200
    assert "Sedang kami cek" in resp.text
    with db.transaction() as s:
        assert s.get(Ticket, ids["serti"]).first_response_at is not None


def test_operators_see_charts_as_inline_svg_and_publish_a_fix(db, client):
    _seed(db)
    operator = make_account(db, roles="operator")
    with db.transaction() as s:
        s.add(
            Incident(
                topic="login_otp",
                dimension="all",
                value="",
                window_start=utc_now(),
                opened_at=utc_now(),
                baseline_count=3,
                current_count=40,
                sample_message_ids=[],
                status="open",
            )
        )
    _seed(db)
    page = operator.login(client).get("/desk/stats")
    assert page.status_code == 200
    assert page.text.count("data:image/svg+xml;base64,") == 6
    # keys read as words in the page's language: in the data lists and in the charts
    assert "chat: " in page.text
    assert "Laporan penipuan: " in page.text
    assert "fraud_report" not in page.text
    import base64
    import re

    first_svg = re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page.text).group(1)
    assert "Laporan penipuan" in base64.b64decode(first_svg).decode()
    english = client.get("/desk/stats", params={"lang": "en"}).text
    assert "Fraud reports: " in english
    assert "<script" not in page.text
    incident_id = db.sessions().scalar(select(Incident.id))
    token = form_token(client, "/desk/stats")
    client.post(
        f"/desk/incidents/{incident_id}/note",
        data={"csrf_token": token, "note": "Gateway SMS diganti", "fixed": "1"},
    )
    public = client.get("/kamu-bilang-kami-perbaiki")
    assert public.status_code == 200
    assert "Gateway SMS diganti" in public.text


def test_agents_cannot_open_the_operator_stats(db, client):
    make_account(db, roles="agent").login(client)
    assert client.get("/desk/stats").status_code == 403


def test_the_operator_charts_are_drawn_once_per_period_and_language_and_say_as_of_when(
    db, client, monkeypatch
):
    from prakerja.feedback import charts, views_desk

    _seed(db)
    drawn = []
    real = charts.stats
    monkeypatch.setattr(charts, "stats", lambda s, **kw: drawn.append(kw) or real(s, **kw))
    make_account(db, roles="operator").login(client)
    first = client.get("/desk/stats").text
    assert "14 hari terakhir, per " in first
    assert " WIB; grafik digambar ulang setiap 2 menit." in first
    assert "Tidak ada insiden." in first
    with db.transaction() as s:
        s.add(_open_incident())
    again = client.get("/desk/stats").text
    assert "Tidak ada insiden." not in again  # incidents are read on every view
    assert len(drawn) == 1  # the charts were not drawn again
    english = client.get("/desk/stats?lang=en").text
    assert "The last 14 days, as of " in english
    assert len(drawn) == 2  # drawn again with its own labels
    monkeypatch.setattr(views_desk._STATS, "ttl_s", 0.0)
    client.get("/desk/stats")
    assert len(drawn) == 3


def test_incident_notes_are_audited_and_open_ones_show_on_the_public_page(db, client):
    with db.transaction() as s:
        s.add(
            Incident(
                topic="login_otp",
                dimension="all",
                value="",
                window_start=utc_now(),
                opened_at=utc_now(),
                baseline_count=0,
                current_count=25,
                sample_message_ids=[],
                status="open",
            )
        )
        s.flush()
        grouping.post_note(
            s,
            incident_id=s.scalar(select(Incident.id)),
            actor_id=1,
            note="OTP terlambat, sedang diperbaiki",
            now=utc_now() + dt.timedelta(seconds=1),
        )
    assert "OTP terlambat" in client.get("/kamu-bilang-kami-perbaiki").text


def test_time_left_reads_in_minutes_hours_or_days(db, client):
    """An SLA a day overdue reads '1 hari', not '1441 min'."""
    import re

    ids = _seed(db)
    with db.transaction() as s:
        late = s.get(Ticket, ids["mau k"])
        late.first_response_due = utc_now() - dt.timedelta(hours=30)
        soon = s.get(Ticket, ids["serti"])
        soon.first_response_due = utc_now() + dt.timedelta(minutes=45, seconds=30)
    make_account(db, roles="agent").login(client)
    page = client.get("/desk").text
    cells = dict(re.findall(r'<td data-minutes="(-?\d+)">(.*?)</td>', page))
    assert any(int(m) < -1700 and "30 jam" in text for m, text in cells.items()), cells
    assert any(text == "45 menit" for text in cells.values()), cells
    english = client.get("/desk?lang=en").text
    assert "30 h" in english
    assert "45 min" in english


def test_the_sla_chart_counts_answered_and_overdue_tickets_and_skips_those_still_in_time(db):
    from prakerja.feedback import charts

    now = utc_now()
    hour = dt.timedelta(hours=1)
    with db.transaction() as s:
        for i, (team, due, answered) in enumerate(
            [
                ("payments", now - hour, now - 2 * hour),  # answered in time: met
                ("payments", now - 2 * hour, now - hour),  # answered late: missed
                ("payments", now - hour, None),  # overdue, unanswered: missed
                ("payments", now + hour, None),  # still in time: not counted
                ("product", now + hour, None),  # a team with nothing counted yet: no bar
            ]
        ):
            s.add(
                Ticket(
                    public_id=f"sla{i}",
                    channel="web",
                    owner_team=team,
                    created_at=now - 3 * hour,
                    updated_at=now - 3 * hour,
                    first_response_due=due,
                    resolve_due=now + 10 * hour,
                    first_response_at=answered,
                )
            )
    with db.transaction() as s:
        assert charts._sla(s, now - 4 * hour, now) == [{"key": "payments", "share": 0.333}]


def test_the_daily_charts_count_jakarta_days(db):
    """The office reads its days in WIB: 00:30 WIB is the next day, though still the previous
    one in UTC."""
    from prakerja.feedback import charts
    from prakerja.feedback.model import Message

    utc = dt.UTC
    at = [
        dt.datetime(2026, 3, 1, 16, 30, tzinfo=utc),  # 23:30 WIB, 1 March
        dt.datetime(2026, 3, 1, 17, 30, tzinfo=utc),  # 00:30 WIB, 2 March
        dt.datetime(2026, 3, 2, 10, 0, tzinfo=utc),  # 17:00 WIB, 2 March
    ]
    with db.transaction() as s:
        rows = [chat(f"wib{i}", "sertifikat belum muncul", at=t) for i, t in enumerate(at)]
        ingest_many(s, rows, now=at[-1])
    with db.transaction() as s:
        daily = charts._daily(s, Message.channel, at[0] - dt.timedelta(days=1))
    assert [(r["day"], r["key"], r["n"]) for r in daily] == [
        ("2026-03-01", "chat", 1),
        ("2026-03-02", "chat", 2),
    ]


def _ticket(public_id: str, topic: str, opened: dt.datetime, hours: float | None) -> Ticket:
    """A ticket opened at `opened` and resolved `hours` later (None: still open)."""
    return Ticket(
        public_id=public_id,
        channel="web",
        topic=topic,
        status="resolved" if hours is not None else "open",
        created_at=opened,
        updated_at=opened,
        first_response_due=opened + dt.timedelta(hours=1),
        resolve_due=opened + dt.timedelta(hours=48),
        resolved_at=None if hours is None else opened + dt.timedelta(hours=hours),
    )


def test_the_resolution_chart_takes_each_topics_median_in_the_database(db):
    from prakerja.feedback import charts

    now = utc_now()
    hour = dt.timedelta(hours=1)
    spans = {  # topic: hours from opening to resolution
        "payment": [5.0, 1.0, 3.0],  # odd count: the middle one
        "login": [2.0, 8.0, 0.5, 4.0],  # even count: the upper middle one
        "course": [1.5],
    }
    with db.transaction() as s:
        for topic, hours in spans.items():
            for i, h in enumerate(hours):
                opened = now - 20 * hour + i * dt.timedelta(minutes=7)
                s.add(_ticket(f"res-{topic}-{i}", topic, opened, h))
        # not counted: still open, and resolved but opened before the period
        s.add(_ticket("res-open", "payment", now, None))
        s.add(_ticket("res-old", "course", now - 30 * hour, 99.0))
    with db.transaction() as s:
        assert charts._resolution_hours(s, now - 24 * hour) == [
            {"key": "course", "hours": 1.5},
            {"key": "login", "hours": 4.0},
            {"key": "payment", "hours": 3.0},
        ]


def test_the_public_page_counts_topics_once_per_period_but_shows_new_notes_at_once(
    db, client, monkeypatch
):
    from prakerja.feedback import views

    _seed(db)
    counted = []
    real = views.top_topics
    monkeypatch.setattr(views, "top_topics", lambda s, now: counted.append(now) or real(s, now))
    first = client.get("/kamu-bilang-kami-perbaiki").text
    assert "Laporan penipuan (1)" in first
    with db.transaction() as s:
        s.add(_open_incident(public_note="Sedang kami perbaiki"))
    again = client.get("/kamu-bilang-kami-perbaiki").text
    assert "Sedang kami perbaiki" in again  # an operator's note shows at once
    assert len(counted) == 1  # the 30-day counts were not read again
    monkeypatch.setattr(views._TOP_TOPICS, "ttl_s", 0.0)
    client.get("/kamu-bilang-kami-perbaiki")
    assert len(counted) == 2
