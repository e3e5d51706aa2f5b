"""`prakerja selection verify|simulate`: re-run a published draw, or a synthetic one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from prakerja.kit.errors import Invalid

app = typer.Typer(help="Waves and the verifiable lottery.", no_args_is_help=True)
COMMANDS = {"selection": app}


@app.command()
def verify(
    pool: Annotated[Path, typer.Option(help="The published canonical pool file.")],
    params: Annotated[Path, typer.Option(help="The published draw parameters (JSON).")],
    workers: Annotated[int, typer.Option(min=1, help="Processes that hash ranks.")] = 2,
) -> None:
    """Recompute quotas and winners from the two files; exit 0 only if everything matches."""
    from prakerja.selection import poolfile

    try:
        pool_data, params_data = pool.read_bytes(), params.read_bytes()
    except OSError as exc:
        typer.echo(json.dumps({"ok": False, "checks": {}, "reason": str(exc)}))
        raise typer.Exit(2) from None
    report = poolfile.verify(pool_data, params_data, workers=workers)
    typer.echo(
        json.dumps(
            {"ok": report.ok, "checks": report.checks, "reason": report.reason}, sort_keys=True
        )
    )
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def simulate(
    applicants: Annotated[int, typer.Option(min=1, help="Synthetic applicants.")],
    seed: Annotated[int, typer.Option(min=0, help="Seed of the pool and the draw.")],
    places: Annotated[int | None, typer.Option(min=0, help="Wave size (default N*8/67).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write pool.bin and params.json here.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes that hash ranks.")] = 2,
) -> None:
    """Draw a synthetic wave over all kabupaten/kota; print one JSON line of results."""
    from prakerja.selection import simulate as sim

    try:
        line = sim.run(applicants, seed, places=places, out_dir=out, workers=workers)
    except Invalid as exc:
        typer.echo(json.dumps({"ok": False, "reason": exc.detail}))
        raise typer.Exit(1) from None
    typer.echo(json.dumps(line, sort_keys=True))
