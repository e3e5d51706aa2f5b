"""Demo data of the marketplace: partners through curation, API keys, a curated catalogue.

A digital platform and two training providers go through every curation step to `active`
(others are left mid-way or refused, so the curation desk has work); the platform gets its API
credential, and its webhook URL points at the demo's platform simulator, which confirms and
redeems every order it is told of through the signed partner API. The platform publishes
courses in every mode (what its simulator would send to POST /courses and /schedules), an
assessor approves most, one waits for assessment and one is refused. Live courses get sessions
from today on; the first webinar session starts within the hour, so its redeem code is valid
while a newcomer looks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from prakerja.marketplace import rules, service_catalogue, service_partner
from prakerja.marketplace.model import Partner

if TYPE_CHECKING:
    from prakerja.demo import DemoEnv

ACTOR = "staff:demo-curator"
DAY = dt.timedelta(days=1)
PLATFORM = "belajar-nusantara"
CURATION = ("due_diligence", "assessment", "approved", "active")
# (kind, code, name, where its curation stops)
PARTNERS = (
    ("platform", PLATFORM, "Belajar Nusantara", "active"),
    ("provider", "lp-maju", "LP Maju Bersama", "active"),
    ("provider", "lpk-terampil", "LPK Terampil Mandiri", "active"),
    ("platform", "kelas-rakyat", "Kelas Rakyat", "due_diligence"),
    ("provider", "lkp-cahaya", "LKP Cahaya Ilmu", "assessment"),
    ("provider", "lp-kilat", "LP Kilat Sertifikat", "rejected"),
)
SYLLABUS = (
    "{topic}. 30% teori dan 70% praktik, pre-test di awal, post-test dan uji keterampilan di akhir."
)


@dataclass(frozen=True)
class DemoCourse:
    """A course as the platform publishes it, with its live sessions and the assessor's verdict."""

    ref: str
    provider: str
    title: str
    category: str
    mode: str
    hours: int
    price: int
    topic: str
    capacity: int | None = None
    sessions: int = 0
    first_in: dt.timedelta = 2 * DAY  # from seeding to the first session
    venue: str | None = None
    verdict: str = "approved"  # approved | rejected | submitted (not assessed yet)


COURSES = (
    DemoCourse("pemasaran-umkm", "lp-maju", "Pemasaran Digital untuk UMKM", "Pemasaran",
               "webinar", 16, 750_000, "Riset pasar, konten media sosial dan iklan berbayar",
               capacity=100, sessions=4, first_in=dt.timedelta(minutes=45)),
    DemoCourse("python-dasar", "lp-maju", "Dasar Pemrograman Python", "Teknologi Informasi",
               "self_paced", 20, 1_000_000, "Variabel, percabangan, fungsi dan mengolah data"),
    DemoCourse("akuntansi-spreadsheet", "lp-maju", "Akuntansi Dasar dengan Spreadsheet",
               "Keuangan", "self_paced", 15, 600_000, "Jurnal, buku besar dan laporan laba rugi"),
    DemoCourse("desain-canva", "lp-maju", "Desain Materi Promosi dengan Canva",
               "Desain Grafis", "self_paced", 15, 500_000, "Tata letak, warna dan tipografi"),
    DemoCourse("barista", "lpk-terampil", "Barista Profesional", "Kuliner", "offline", 18,
               1_500_000, "Espresso, steaming susu dan latte art", capacity=25, sessions=3,
               first_in=3 * DAY, venue="LPK Terampil Mandiri, Jl. Braga No. 12, Kota Bandung"),
    DemoCourse("inggris-hotel", "lpk-terampil", "Bahasa Inggris untuk Layanan Hotel",
               "Pariwisata", "webinar", 15, 900_000, "Menyambut tamu, reservasi dan keluhan",
               capacity=60, sessions=5),
    DemoCourse("teknisi-ac", "lpk-terampil", "Teknisi Perawatan AC Rumah", "Teknik", "offline",
               30, 3_500_000, "Membersihkan, mengisi freon dan memperbaiki AC split",
               capacity=20, sessions=5, first_in=5 * DAY,
               venue="LPK Terampil Mandiri, Jl. Raya Bogor Km 24, Jakarta Timur"),
    DemoCourse("foto-produk", "lp-maju", "Fotografi Produk dengan Ponsel", "Pemasaran",
               "self_paced", 15, 450_000, "Cahaya, komposisi dan penyuntingan foto",
               verdict="submitted"),
    DemoCourse("kripto-kilat", "lp-maju", "Cepat Kaya dari Trading Kripto", "Keuangan",
               "webinar", 4, 2_000_000, "Strategi trading harian", capacity=500,
               verdict="rejected"),
)  # fmt: skip


def demo_seed(session: Session, now: dt.datetime, env: DemoEnv) -> None:
    """Partners curated, the platform's credential issued, the catalogue published and assessed."""
    webhook = f"{env.platform_url}/webhooks"
    partners = {
        code: _curate(session, kind, code, name, stop, now - 60 * DAY, webhook)
        for kind, code, name, stop in PARTNERS
    }
    platform = partners[PLATFORM]
    cred, secret = service_partner.issue_credential(
        session, partner_id=platform.id, actor=ACTOR, now=now - 40 * DAY
    )
    env.found |= {
        "platform.code": PLATFORM,
        "platform.client_id": cred.client_id,
        "platform.secret": secret,
        "platform.url": env.platform_url,
    }
    for course in COURSES:
        env.found[f"course.{course.ref}"] = _publish(session, platform, course, now)


def _curate(
    session: Session,
    kind: str,
    code: str,
    name: str,
    stop: str,
    applied: dt.datetime,
    webhook: str,
) -> Partner:
    """Apply, then one curation step every five days until `stop` (refused at due diligence)."""
    partner = service_partner.apply(
        session,
        code=code,
        name=name,
        kind=kind,
        actor=f"partner:{code}",
        now=applied,
        webhook_url=webhook if kind == "platform" and stop == "active" else None,
        contact_email=f"kemitraan@{code}.example",
    )
    steps = ("due_diligence", "rejected") if stop == "rejected" else CURATION
    for n, step in enumerate(steps[: steps.index(stop) + 1], start=1):
        note = "Izin lembaga tidak dapat diverifikasi" if step == "rejected" else ""
        service_partner.advance(
            session,
            partner_id=partner.id,
            to=step,
            actor=ACTOR,
            now=applied + 5 * n * DAY,
            note=note,
        )
    return partner


def _publish(session: Session, platform: Partner, course: DemoCourse, now: dt.datetime) -> str:
    """Publish the course and its sessions; the assessor's verdict a week later. Its public id."""
    data = rules.CourseInput(
        external_ref=course.ref,
        provider_code=course.provider,
        title=course.title,
        category=course.category,
        mode=course.mode,
        hours=course.hours,
        price=course.price,
        syllabus=SYLLABUS.format(topic=course.topic),
        capacity=course.capacity,
    )
    published = now - 28 * DAY
    row, _ = service_catalogue.publish_course(session, platform=platform, data=data, now=published)
    if course.verdict != "submitted":
        service_catalogue.assess_course(
            session,
            course_id=row.id,
            approve=course.verdict == "approved",
            actor="staff:demo-assessor",
            now=published + 7 * DAY,
            note="" if course.verdict == "approved" else "Kurang dari 15 jam; tanpa praktik",
        )
    _schedule(session, platform, row.public_id, course, now)
    return row.public_id


def _schedule(
    session: Session, platform: Partner, public_id: str, course: DemoCourse, now: dt.datetime
) -> None:
    """The live sessions, two days apart, the course's hours shared equally."""
    length = dt.timedelta(hours=course.hours / max(course.sessions, 1))
    first = (now + course.first_in).replace(second=0, microsecond=0)
    for n in range(course.sessions):
        starts = first + 2 * n * DAY
        service_catalogue.add_session(
            session,
            platform=platform,
            course_public_id=public_id,
            external_ref=f"sesi-{n + 1}",
            starts_at=starts,
            ends_at=starts + length,
            venue=course.venue,
            now=now - 21 * DAY,
        )
