"""`prakerja demo`: a realistic demo programme in SQLite, with the simulators running.

Seeds a synthetic population over all 514 kabupaten/kota, publishes the 2023+ policy, imports an
exclusion list (civil servants) and a priority list (laid-off workers) drawn from that
population, creates staff, registers a few thousand citizens at every stage of the journey, and
serves the web app with the civil-registry, face-check and SMS simulators plus an SMTP sink on
loopback. Demo citizens are inserted set-based (one shared password hash) rather than walked
through the services one by one, so seeding takes seconds; everything a newcomer then does in the
browser goes through the real services and the simulators.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
SIM_PORTS = {"sms": 8101, "registry": 8102, "face": 8103}
SMTP_PORT = 8025


@dataclass(frozen=True)
class DemoLogins:
    staff: dict[str, tuple[str, str]]  # role -> (email, totp secret)
    walker: str  # a citizen who still has the whole identity journey ahead
    walker_identity: dict[str, str]  # the synthetic NIK, KK and birth date to type in
    ready: str  # a citizen who finished registration


def _stage_of(index: np.ndarray) -> np.ndarray:
    cuts = np.cumsum(STAGE_SHARE)
    return np.searchsorted(cuts, (index % 1000) / 1000.0, side="right").clip(0, len(STAGES) - 1)


def seed(
    db: Database, workdir: Path, *, population: int, citizens: int, console: Console
) -> DemoLogins:
    """Fill an empty, migrated database with the demo programme."""
    from prakerja.sim import population as popgen

    now = utc_now()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("demo", total=7)
        with db.transaction() as session:
            _regions(session, now)
        progress.update(task, advance=1, description="population")
        people = popgen.generate(population, seed=2026)
        people.write_jsonl(workdir / "population.jsonl")
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
        progress.update(task, advance=1, description="extras")
        with db.transaction() as session:
            _extras(session, now)
        progress.update(task, advance=1)
    first = people.frame.filter(pl.col("birth_date") <= dt.date(2006, 1, 1)).row(0, named=True)
    identity = {
        "NIK": first["nik"],
        "KK": first["kk"],
        "birth_date": str(first["birth_date"]),
        "name": first["name"],
        "mother": first["mother_name"],
    }
    return DemoLogins(staff=staff, walker=walker, walker_identity=identity, ready=ready)


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
    for role in ("admin", "operator", "agent", "finance", "analyst"):
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
        "employment_status": "not_working",
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


def _extras(session: Session, now: dt.datetime) -> None:
    """Later contexts add their demo data through an optional `demo_seed(session, now)`."""
    from prakerja.contexts import import_all

    for module in import_all("demo"):
        module.demo_seed(session, now)


def start_simulators(workdir: Path) -> list[subprocess.Popen[bytes]]:
    """The outside systems on loopback: registry (with the population), face, SMS, SMTP sink."""
    env = {**os.environ, "PRAKERJA_SIM_EXIT_WITH_PARENT": "1"}
    log = (workdir / "simulators.log").open("ab")
    py = sys.executable
    commands = [
        ["prakerja.sim", "registry", "--port", str(SIM_PORTS["registry"]),
         "--population", str(workdir / "population.jsonl")],
        ["prakerja.sim", "face", "--port", str(SIM_PORTS["face"])],
        ["prakerja.sim", "sms", "--port", str(SIM_PORTS["sms"])],
        ["aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{SMTP_PORT}"],
    ]  # fmt: skip
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
    console.print(f"Citizen who finished registration: [bold]{logins.ready}[/bold]")
    for role, (email, secret) in logins.staff.items():
        code = pyotp.TOTP(secret).now() if secret else "-"
        console.print(
            f"Staff {role:<9} {email:<26} TOTP secret {secret} (code now: {code}; "
            f"`prakerja admin totp {email}` prints the current one)"
        )


def run(*, serve: bool, host: str, port: int, population: int, citizens: int) -> None:
    """The whole `prakerja demo` command."""
    console = Console(stderr=True)
    settings = get_settings()
    workdir = Path(settings.var_dir) / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    db = fresh_database(settings.database_url)
    logins = seed(db, workdir, population=population, citizens=citizens, console=console)
    db.dispose()
    base_url = f"http://{host}:{port}"
    banner(console, logins, base_url)
    if not serve:
        return
    procs = start_simulators(workdir)
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
