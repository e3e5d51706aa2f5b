"""`prakerja demo`: a realistic demo programme in SQLite, with the simulators running.

Seeds a synthetic population over all 514 kabupaten/kota, publishes the 2023+ policy, imports an
exclusion list (civil servants) and a priority list (laid-off workers) drawn from that
population, creates staff, registers a few thousand citizens at every stage of the journey, and
serves the web app with the civil-registry, face-check, SMS and training-platform simulators plus
an SMTP sink on loopback. Demo citizens are inserted set-based (one shared password hash) rather
than walked through the services one by one, so seeding takes seconds; everything a newcomer then
does in the browser goes through the real services and the simulators.

The later contexts seed through their own services, each in `prakerja.<context>.demo` with
`demo_seed(session, now, env)` (run in journey order, one transaction each): a wave drawn and
announced, the winners' cards, partners and courses, recipients at every point of learning,
complaints on the desk. `DemoEnv` is what they share.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.orm import Session

from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database, new_id, table_of
from prakerja.settings import get_settings

DEMO_PASSWORD = "prakerja-demo-2026"  # noqa: S105 (the public demo login, printed by the demo)
STAGES = ("account", "identity", "profile", "ktp", "face", "phone", "statement", "done")
STAGE_SHARE = (0.10, 0.08, 0.08, 0.07, 0.07, 0.07, 0.08, 0.45)
PLATFORM_PORT = 8110  # the training-platform simulator (PRAKERJA_DEMO_PLATFORM_PORT)
COMPLETE_AFTER_S = 30  # the simulated platform reports a self-paced course finished this later


@dataclass(frozen=True)
class DemoLogins:
    staff: dict[str, tuple[str, str]]  # role -> (email, totp secret)
    walker: str  # a citizen who still has the whole identity journey ahead
    walker_identity: dict[str, str]  # the synthetic NIK, KK and birth date to type in
    ready: str  # a citizen who finished registration
    later: dict[str, str] = field(default_factory=dict)  # what the context seeders found


@dataclass
class DemoEnv:
    """What the context seeders share: the work directory (the indicator CSV), the platform
    simulator's URL (a partner's webhook URL is given when it applies), the registration-stage
    logins, and `found`: what earlier seeders leave for later ones, the banner, the simulators
    and the tests, under dotted keys such as "recipient.fresh" or "platform.client_id"."""

    workdir: Path
    platform_url: str
    logins: DemoLogins
    found: dict[str, str] = field(default_factory=dict)


def _stage_of(index: np.ndarray) -> np.ndarray:
    cuts = np.cumsum(STAGE_SHARE)
    return np.searchsorted(cuts, (index % 1000) / 1000.0, side="right").clip(0, len(STAGES) - 1)


def seed(
    db: Database,
    workdir: Path,
    *,
    population: int,
    citizens: int,
    console: Console,
    platform_url: str = f"http://127.0.0.1:{PLATFORM_PORT}",
) -> DemoLogins:
    """Fill an empty, migrated database with the demo programme."""
    from prakerja.contexts import import_all
    from prakerja.sim import population as popgen

    now = utc_now()
    seeders = import_all("demo")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("demo", total=6 + len(seeders))
        with db.transaction() as session:
            _regions(session, now)
        progress.update(task, advance=1, description="population")
        people = popgen.generate(population, seed=2026)
        people.write_jsonl(workdir / "population.jsonl")
        _indicators(people.frame, workdir, now.date())
        progress.update(task, advance=1, description="policy")
        with db.transaction() as session:
            _policy(session, now)
        progress.update(task, advance=1, description="lists")
        with db.transaction() as session:
            _lists(session, people.frame, workdir, now)
        progress.update(task, advance=1, description="staff")
        with db.transaction() as session:
            staff = _staff(session, now)
        progress.update(task, advance=1, description="citizens")
        with db.transaction() as session:
            walker, ready = _citizens(session, people.frame, citizens, now)
        progress.update(task, advance=1)
        logins = DemoLogins(staff, walker, _identity_of_walker(people.frame), ready)
        env = DemoEnv(workdir=workdir, platform_url=platform_url, logins=logins)
        for module in seeders:
            progress.update(task, description=module.__name__.split(".")[1])
            with db.transaction() as session:
                module.demo_seed(session, now, env)
            progress.update(task, advance=1)
    return replace(logins, later=env.found)


def _identity_of_walker(frame: pl.DataFrame) -> dict[str, str]:
    """What the walker types in: the first adult of the population is their identity."""
    first = frame.filter(pl.col("birth_date") <= dt.date(2006, 1, 1)).row(0, named=True)
    return {
        "NIK": first["nik"],
        "KK": first["kk"],
        "birth_date": str(first["birth_date"]),
        "name": first["name"],
        "mother": first["mother_name"],
    }


def _indicators(frame: pl.DataFrame, workdir: Path, today: dt.date) -> None:
    """indicators.csv: adults (18-64) per current kabupaten/kota, the quota weights of the demo
    wave, in the format `prakerja waves plan --indicator-csv` reads (every cell, zeros too)."""
    from prakerja.region import service as region

    born = (dt.date(today.year - 64, 1, 1), dt.date(today.year - 18, 12, 31))  # weights only
    adults = frame.filter(pl.col("birth_date").is_between(*born))
    counts: dict[str, int] = dict.fromkeys((r.code for r in region.regencies()), 0)
    for code, n in adults.group_by("regency_code").len().iter_rows():
        cell = region.successor_of(code) or code
        if cell in counts:
            counts[cell] += int(n)
    with (workdir / "indicators.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["code", "population"])
        writer.writerows(sorted(counts.items()))


def _regions(session: Session, now: dt.datetime) -> None:
    from prakerja.region import service as region

    region.sync_regions(session, now=now)


def _policy(session: Session, now: dt.datetime) -> None:
    from prakerja.registration import service_eligibility as policy

    draft = policy.create_draft(session, code="2023.1", actor="demo", now=now, preset="2023+")
    policy.publish(session, version_id=draft.id, actor="demo", now=now)


def _lists(session: Session, frame: pl.DataFrame, workdir: Path, now: dt.datetime) -> None:
    """3% of adults are civil servants (excluded); 2% were laid off (priority)."""
    from prakerja.registration import service_lists

    adults = frame.filter(pl.col("family_role") != "child")
    picks = {
        "exclusion": (adults.sample(fraction=0.03, seed=1), "BKN ASN (demo)", "asn"),
        "priority": (adults.sample(fraction=0.02, seed=2), "Kemnaker PHK (demo)", "phk"),
    }
    for kind, (rows, source, reason) in picks.items():
        path = workdir / f"{kind}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["nik", "reason", "kk"])
            writer.writerows((r["nik"], reason, r["kk"]) for r in rows.iter_rows(named=True))
        service_lists.import_list(
            session, path=path, kind=kind, source=source, actor="demo", now=now
        )


def _staff(session: Session, now: dt.datetime) -> dict[str, tuple[str, str]]:
    from prakerja.identity import service_account
    from prakerja.identity.vault import decrypt_text

    logins = {}
    for role in ("admin", "operator", "assessor", "agent", "finance", "analyst"):
        email = f"{role}@prakerja.example"
        account, _uri = service_account.create_staff(
            session, email=email, password=DEMO_PASSWORD, roles=[role], now=now
        )
        secret = decrypt_text(account.totp_secret_enc) if account.totp_secret_enc else ""
        logins[role] = (email, secret)
    return logins


def _citizens(
    session: Session, frame: pl.DataFrame, count: int, now: dt.datetime
) -> tuple[str, str]:
    """Insert `count` adult citizens spread over the journey's stages (set-based)."""
    from prakerja.identity.model import Account
    from prakerja.identity.passwords import hash_password
    from prakerja.registration.model import Person

    adults = frame.filter(pl.col("birth_date") <= dt.date(2006, 1, 1)).head(count)
    password_hash = hash_password(DEMO_PASSWORD)
    stages = _stage_of(np.arange(adults.height))
    accounts, persons = [], []
    for i, row in enumerate(adults.iter_rows(named=True)):
        stage = STAGES[int(stages[i])]
        email = f"warga{i:05d}@prakerja.example"
        phone = f"+62812{i:07d}" if STAGES.index(stage) > STAGES.index("face") else None
        accounts.append(
            {
                "public_id": new_id(),
                "email": email,
                "password_hash": password_hash,
                "kind": "citizen",
                "roles": "",
                "status": "active",
                "email_verified_at": now,
                "phone": phone,
                "phone_verified_at": now if phone else None,
                "language": "id",
                "failed_logins": 0,
                "created_at": now,
            }
        )
        persons.append((email, stage, row))
    session.execute(table_of(Account).insert(), accounts)
    ids = dict(
        session.execute(
            table_of(Account)
            .select()
            .with_only_columns(Account.email, Account.id)
            .where(Account.kind == "citizen")
        ).all()
    )
    built = (_person_row(ids[email], stage, row, now) for email, stage, row in persons)
    rows = [r for r in built if r is not None]
    if rows:
        session.execute(table_of(Person).insert(), rows)
    return "warga00000@prakerja.example", _first_ready(persons)


def _first_ready(persons: list[tuple[str, str, dict[str, Any]]]) -> str:
    return next((email for email, stage, _ in persons if stage == "done"), persons[-1][0])


def _person_row(
    account_id: int, stage: str, row: dict[str, Any], now: dt.datetime
) -> dict[str, Any] | None:
    from prakerja.identity import vault
    from prakerja.registration.nik import mask_nik

    if stage == "account":
        return None
    reached = STAGES.index(stage)
    done = {
        name: (now if STAGES.index(name) < reached or stage == "done" else None)
        for name in ("identity", "profile", "ktp", "face", "phone", "statement")
    }
    return {
        "account_id": account_id,
        "nik_enc": vault.encrypt_text(row["nik"]),
        "nik_bidx": vault.blind_index(row["nik"], "nik"),
        "nik_masked": mask_nik(row["nik"]),
        "kk_enc": vault.encrypt_text(row["kk"]),
        "kk_bidx": vault.blind_index(row["kk"], "kk"),
        "birth_date": row["birth_date"],
        "sex": row["sex"],
        "province_code": row["province_code"],
        "regency_code": row["regency_code"],
        "district_code": row["district_code"],
        "registry_status": "matched",
        "registry_detail": {},
        "registry_checked_at": now,
        "full_name": row["name"] if done["identity"] else None,
        "mother_name_enc": vault.encrypt_text(row["mother_name"]) if done["identity"] else None,
        "address": row["address"] if done["identity"] else None,
        "domicile_regency_code": row["regency_code"] if done["identity"] else None,
        "village_type": row["village_type"] if done["identity"] else None,
        "education": "sma",
        "marital_status": row["marital_status"],
        "dependants": 1,
        "employment_status": "unemployed",
        "occupation": "none",
        "disability": False,
        "migrant_status": "none",
        "other_aid": "",
        "desired_training": "digital",
        "face_status": "pass" if done["face"] else "none",
        "face_attempts": 1 if done["face"] else 0,
        "statement": {},
        "test_score": 80 if stage == "done" else None,
        "identity_done_at": done["identity"] or now,
        "profile_done_at": done["profile"],
        "ktp_done_at": done["ktp"],
        "face_done_at": done["face"],
        "phone_done_at": done["phone"],
        "statement_done_at": done["statement"],
        "test_done_at": now if stage == "done" else None,
        "created_at": now,
        "updated_at": now,
    }


def _port(url: str) -> str:
    return str(urlsplit(url).port or 80)


def platform_url() -> str:
    """Where the demo's training-platform simulator listens (its partner's webhook base)."""
    return f"http://127.0.0.1:{os.environ.get('PRAKERJA_DEMO_PLATFORM_PORT', PLATFORM_PORT)}"


def _platform_command(logins: DemoLogins, base_url: str) -> list[str]:
    """The simulated digital platform, holding the credentials its partner was issued."""
    later = logins.later
    return [
        "prakerja.sim.platform", "--base-url", base_url,
        # `=`: a secret may begin with "-", which argparse would take for an option
        f"--client-id={later['platform.client_id']}", f"--secret={later['platform.secret']}",
        "--port", _port(later["platform.url"]), "--complete-after", str(COMPLETE_AFTER_S),
    ]  # fmt: skip


def start_simulators(
    workdir: Path, logins: DemoLogins, base_url: str
) -> list[subprocess.Popen[bytes]]:
    """The outside systems on loopback, on the ports the settings point at: registry (with the
    population), face, SMS, SMTP sink, and the training platform (confirms and redeems every
    order it is told of, through our signed partner API at `base_url`)."""
    # The seeded wave leaves ~2 SMS per winner queued; at the simulators' default 20-80 ms each
    # a newcomer's first purchase would wait a minute behind them (PRAKERJA_SIM_LATENCY_MS wins).
    env = {"PRAKERJA_SIM_LATENCY_MS": "2-10", **os.environ, "PRAKERJA_SIM_EXIT_WITH_PARENT": "1"}
    log = (workdir / "simulators.log").open("ab")
    py = sys.executable
    settings = get_settings()
    commands = [
        # like the real registry, now and then slow to answer (a timeout) or down (503): the
        # citizen then sees "we will check again", and the retry job finishes the check
        ["prakerja.sim", "registry", "--port", _port(settings.registry_url),
         "--population", str(workdir / "population.jsonl"),
         "--timeout-rate", "0.03", "--error-rate", "0.02"],
        ["prakerja.sim", "face", "--port", _port(settings.face_url)],
        ["prakerja.sim", "sms", "--port", _port(settings.sms_gateway_url)],
        ["aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
         "-l", f"{settings.smtp_host}:{settings.smtp_port}"],
    ]  # fmt: skip
    if "platform.client_id" in logins.later:
        commands.append(_platform_command(logins, base_url))
    procs = [
        # S603: a fixed argv (this interpreter running our own or a pinned module)
        subprocess.Popen([py, "-m", *args], stdout=log, stderr=log, env=env)  # noqa: S603
        for args in commands
    ]
    time.sleep(0.5)
    return procs


def fresh_database(url: str) -> Database:
    """Drop a previous SQLite demo file and migrate a new one."""
    from prakerja.kit import migrate

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    migrate.upgrade(url)
    return Database(url)


def banner(console: Console, logins: DemoLogins, base_url: str) -> None:
    import pyotp

    console.rule("[bold]Prakerja demo")
    console.print(f"Citizen portal:   {base_url}/          (Bahasa Indonesia; EN top right)")
    console.print(f"Course catalogue: {base_url}/courses")
    console.print(f"Staff console:    {base_url}/staff/login")
    console.print(f"Dev inbox:        {base_url}/dev/inbox  (every email and SMS sent)")
    console.print(f"API docs:         {base_url}/api/docs")
    console.print(f"Password for every demo login: [bold]{DEMO_PASSWORD}[/bold]")
    console.print(
        f"Citizen to walk the journey: [bold]{logins.walker}[/bold] "
        "(login code arrives in the dev inbox)"
    )
    console.print(
        "  their synthetic identity: "
        + ", ".join(f"{k} {v}" for k, v in logins.walker_identity.items())
    )
    console.print(
        f"Citizen who finished registration (wave open to join): [bold]{logins.ready}[/bold]"
    )
    _later_lines(console, logins.later, base_url)
    for role, (email, secret) in logins.staff.items():
        code = pyotp.TOTP(secret).now() if secret else "-"
        console.print(
            f"Staff {role:<9} {email:<26} TOTP secret {secret} (code now: {code}; "
            f"`prakerja admin totp {email}` prints the current one)"
        )


# (key in DemoLogins.later, label); the values are logins unless the label says otherwise.
_LATER = (
    ("recipient.fresh", "Recipient to buy a course (card, nothing bought yet)"),
    ("recipient.learning", "Recipient with a course in progress"),
    ("recipient.to_review", "Recipient who finished and must give the review"),
    ("recipient.reviewed", "Recipient who reviewed (incentive unlocked)"),
)


def _later_lines(console: Console, later: dict[str, str], base_url: str) -> None:
    """What the context seeders made: recipients, the platform's API keys, a certificate."""
    for key, label in _LATER:
        if key in later:
            console.print(f"{label}: [bold]{later[key]}[/bold]")
    if "wave.drawn" in later:
        console.print(
            f"Drawn wave: {base_url}/waves/{later['wave.drawn']} ({later['wave.winners']} winners);"
            f" open wave: {later.get('wave.open', '-')}"
        )
    if "certificate" in later:
        console.print(f"Certificate to verify: {base_url}/certificates/{later['certificate']}")
    if "platform.client_id" in later:
        console.print(
            f"Platform partner {later['platform.code']}: client id {later['platform.client_id']}"
            f" secret {later['platform.secret']} (its simulator: {later['platform.url']},"
            " webhooks at /webhooks; it confirms and redeems every order)"
        )


def _served_at(host: str, port: int) -> str:
    """The URL the demo serves at, also its base URL (certificate links, the platform's calls)
    unless PRAKERJA_BASE_URL says otherwise."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (compared, not bound)
    url = f"http://{shown}:{port}"
    if "PRAKERJA_BASE_URL" not in os.environ:
        os.environ["PRAKERJA_BASE_URL"] = url
        get_settings.cache_clear()
    return url


def run(*, serve: bool, host: str, port: int, population: int, citizens: int) -> None:
    """The whole `prakerja demo` command."""
    console = Console(stderr=True)
    base_url = _served_at(host, port)
    settings = get_settings()
    workdir = Path(settings.var_dir) / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    db = fresh_database(settings.database_url)
    started = time.perf_counter()
    logins = seed(
        db,
        workdir,
        population=population,
        citizens=citizens,
        console=console,
        platform_url=platform_url(),
    )
    db.dispose()
    console.print(f"Seeded in {time.perf_counter() - started:.1f} s")
    banner(console, logins, base_url)
    if not serve:
        return
    procs = start_simulators(workdir, logins, base_url)
    try:
        import uvicorn

        os.environ["PRAKERJA_RUN_WORKER_IN_WEB"] = "1"
        get_settings.cache_clear()
        uvicorn.run(
            "prakerja.app:create_app", factory=True, host=host, port=port, log_level="warning"
        )
    finally:
        for proc in procs:
            proc.terminate()
