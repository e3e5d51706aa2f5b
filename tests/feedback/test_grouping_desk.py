"""Near-duplicate grouping and spike detection that opens incidents and alerts on-call."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from prakerja.feedback import grouping
from prakerja.feedback.model import Incident, Message
from prakerja.feedback.service_intake import ingest_many
from prakerja.kit.notify import Notification

from .desk_helpers import NOW, chat, make_account


def test_near_duplicates_share_a_key_and_distinct_texts_stand_alone():
    texts = [
        "OTP tidak masuk dari tadi min, sudah coba berkali kali",
        "otp tidak masuk dari tadi min sudah coba berkali kali!!",
        "OTP TIDAK MASUK dari tadi min, sudah coba berkali kali 0812*****789",
        "sertifikat pelatihan saya belum muncul di dashboard",
        "",
        "12345",
    ]
    keys = grouping.group_keys([7, 3, 9, 4, 5, 6], texts)
    assert keys[:3] == ["g3", "g3", "g3"]
    assert keys[3:] == [None, None, None]


def test_spike_rule_needs_both_the_ratio_and_the_floor():
    assert grouping.is_spike(30, 10, ratio=3, floor=20)
    assert not grouping.is_spike(29, 10, ratio=3, floor=20)
    assert not grouping.is_spike(19, 0, ratio=3, floor=20)
    assert grouping.is_spike(20, 0, ratio=3, floor=20)


def _burst(prefix: str, n: int, at: dt.datetime, text: str, channel: str = "chat"):
    return [
        chat(
            f"{prefix}{i}", f"{text} {i}", at=at - dt.timedelta(minutes=1 + i % 50), channel=channel
        )
        for i in range(n)
    ]


def test_an_otp_surge_opens_one_incident_with_samples_and_alerts_the_operator(db):
    operator = make_account(db, roles="operator", phone="+6281200000001")
    week_ago = NOW - dt.timedelta(days=7)
    rows = _burst("now", 30, NOW, "OTP tidak masuk dari tadi") + _burst(
        "old", 5, week_ago, "OTP tidak masuk dari tadi"
    )
    with db.transaction() as s:
        ingest_many(s, rows, now=NOW)
        grouped = grouping.regroup(s, now=NOW)
        opened = grouping.detect(s, now=NOW)
        again = grouping.detect(s, now=NOW)
    assert grouped["groups"] >= 1
    assert again == []
    with db.transaction() as s:
        incidents = s.scalars(select(Incident).where(Incident.topic == "login_otp")).all()
        by_dim = {(i.dimension, i.value): i for i in incidents}
        assert ("all", "") in by_dim
        assert ("channel", "chat") in by_dim
        total = by_dim[("all", "")]
        assert (total.current_count, total.baseline_count) == (30, 5)
        assert len(total.sample_message_ids) == 5
        notes = s.scalars(
            select(Notification).where(
                Notification.recipient.in_([operator.email, "+6281200000001"])
            )
        ).all()
        assert {n.channel for n in notes} == {"email", "sms"}
    assert {i.topic for i in opened} == {"login_otp"}


def test_no_incident_when_last_week_was_just_as_busy(db):
    week_ago = NOW - dt.timedelta(days=7)
    rows = _burst("now", 30, NOW, "OTP tidak masuk dari tadi") + _burst(
        "old", 25, week_ago, "OTP tidak masuk dari tadi"
    )
    with db.transaction() as s:
        ingest_many(s, rows, now=NOW)
        assert grouping.detect(s, now=NOW) == []


def test_regrouping_writes_stable_keys(db):
    rows = [
        chat(f"d{i}", "sertifikat saya belum muncul padahal sudah selesai kelas") for i in range(4)
    ] + [chat("solo", "akun diblokir tanpa alasan jelas")]
    with db.transaction() as s:
        ingest_many(s, rows, now=NOW)
        grouping.regroup(s, now=NOW)
        second = grouping.regroup(s, now=NOW)
        keys = dict(s.execute(select(Message.source_id, Message.group_key)).all())
    assert second["changed"] == 0
    assert len({keys[f"d{i}"] for i in range(4)}) == 1
    assert keys["solo"] is None
