"""Civil-registry (Dukcapil) simulator: answers NIK/KK/birth-date/name checks from a synthetic
population file, field by field, with realistic latency, hangs and 503s.

A NIK it does not hold is always `not_found` (match false); names compare case- and
punctuation-insensitively, as the registry compares KTP spellings.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from prakerja.sim.population import Population
from prakerja.sim.server import Disturber, Faults, base_app

_NOT_LETTERS = re.compile(r"[^A-Z ]+")


@dataclass(frozen=True, slots=True)
class Record:
    """What the registry holds per NIK (the fields it can confirm)."""

    kk: str
    birth_date: dt.date
    name: str
    mother_name: str


class VerifyRequest(BaseModel):
    nik: str = Field(pattern=r"^\d{16}$")
    kk: str = Field(pattern=r"^\d{16}$")
    birth_date: dt.date
    name: str | None = Field(default=None, max_length=200)
    mother_name: str | None = Field(default=None, max_length=200)


def normalise_name(name: str) -> str:
    """Upper case, letters and single spaces only: 'Siti  Nur-Aisyah' -> 'SITI NURAISYAH'."""
    return " ".join(_NOT_LETTERS.sub("", name.upper()).split())


def records_from(population: Population) -> dict[str, Record]:
    """NIK -> Record for every person (column-wise, no per-row frame access)."""
    f = population.frame
    return {
        nik: Record(kk, born, name, mother)
        for nik, kk, born, name, mother in zip(
            *(f[c].to_list() for c in ("nik", "kk", "birth_date", "name", "mother_name")),
            strict=True,
        )
    }


def compare(record: Record | None, body: VerifyRequest) -> dict[str, str]:
    """Field-by-field verdicts; name fields not sent are `not_checked`."""
    if record is None:
        return {
            "nik": "not_found",
            "kk": "not_checked",
            "birth_date": "not_checked",
            "name": "not_checked",
            "mother_name": "not_checked",
        }

    def same(ok: bool) -> str:
        return "match" if ok else "mismatch"

    def by_name(sent: str | None, held: str) -> str:
        return "not_checked" if sent is None else same(normalise_name(sent) == normalise_name(held))

    return {
        "nik": "match",
        "kk": same(body.kk == record.kk),
        "birth_date": same(body.birth_date == record.birth_date),
        "name": by_name(body.name, record.name),
        "mother_name": by_name(body.mother_name, record.mother_name),
    }


def create_app(records: dict[str, Record], faults: Faults | None = None) -> FastAPI:
    """The registry's HTTP API over `records`."""
    disturber = Disturber(faults or Faults.from_env())
    app = base_app("registry-sim", disturber)

    @app.post("/v1/verify", response_model=None)
    async def verify(body: VerifyRequest) -> Any:
        trouble = await disturber.disturb()
        if trouble is not None:
            return trouble
        fields = compare(records.get(body.nik), body)
        matched = all(v in ("match", "not_checked") for v in fields.values())
        return {
            "match": matched,
            "fields": fields,
            "reference": f"DKC{uuid.uuid4().hex[:16].upper()}",
        }

    return app


def load_app(population_file: Path, faults: Faults | None = None) -> FastAPI:
    """The registry app serving the people in a `Population.write_jsonl` file."""
    return create_app(records_from(Population.load(population_file)), faults)


if __name__ == "__main__":
    import sys

    from prakerja.sim.cli import app as _cli

    _cli(args=["registry", *sys.argv[1:]], prog_name="python -m prakerja.sim")
