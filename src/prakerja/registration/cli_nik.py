"""`prakerja nik check NIK`: what a NIK says, as JSON (masked; the full NIK is never printed)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import typer

from prakerja.registration.nik import Issue, NikResult, mask_nik, parse_nik

app = typer.Typer(help="Check NIK numbers (Nomor Induk Kependudukan).", no_args_is_help=True)
COMMANDS = {"nik": app}


@app.callback()
def _group() -> None:
    """Check NIK numbers (Nomor Induk Kependudukan)."""


def _issues(issues: tuple[Issue, ...], lang: str) -> list[dict[str, str]]:
    return [{"code": i.code, "message": i.text(lang)} for i in issues]


def as_json(result: NikResult, lang: str = "id") -> dict[str, Any]:
    """The public JSON shape of a parse result (NIK masked)."""
    return {
        "valid": result.valid,
        "nik_masked": mask_nik(result.nik),
        "province_code": result.province_code,
        "province": result.province_name,
        "regency_code": result.regency_code,
        "kabupaten_kota_code": result.regency_code,
        "regency": result.regency_name,
        "district_code": result.district_code,
        "district": result.district_name,
        "birth_date": result.birth_date.isoformat() if result.birth_date else None,
        "sex": result.sex,
        "warnings": _issues(result.warnings, lang),
        "errors": _issues(result.errors, lang),
    }


@app.command("check")
def check(
    nik: str = typer.Argument(..., help="16 digits; spaces, dots and dashes are ignored."),
    today: str = typer.Option("", help="Reference date (YYYY-MM-DD) for the birth century."),
    lang: str = typer.Option("id", help="Language of the messages (id or en)."),
) -> None:
    """Print what the NIK encodes; exit 1 when it is not a valid NIK."""
    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError as exc:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--today") from exc
    result = parse_nik(nik, today=day)
    typer.echo(json.dumps(as_json(result, lang), ensure_ascii=False, indent=2))
    raise typer.Exit(0 if result.valid else 1)
