"""`prakerja sim ...`: run the partner simulators and generate a synthetic population."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated

import typer

from prakerja.sim.server import Faults, parse_latency

app = typer.Typer(
    help="Simulators of outside systems (registry, face check, SMS gateway).", no_args_is_help=True
)
COMMANDS = {"sim": app}

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
PortFile = Annotated[Path | None, typer.Option(help="Write the bound port here (for --port 0).")]
Latency = Annotated[
    str | None, typer.Option(help="Latency range in ms, e.g. 20-80 [env PRAKERJA_SIM_LATENCY_MS].")
]
TimeoutRate = Annotated[
    float | None, typer.Option(help="Fraction of requests that hang past client timeouts.")
]
ErrorRate = Annotated[float | None, typer.Option(help="Fraction of requests answered 503.")]
HangS = Annotated[float | None, typer.Option(help="How long a hanging request sleeps, s.")]
Seed = Annotated[int | None, typer.Option(help="Seed for the fault dice (repeatable runs).")]
PopulationFile = Annotated[
    Path,
    typer.Option(exists=True, dir_okay=False, help="JSONL file from `prakerja sim population`."),
]


def _faults(
    latency_ms: str | None,
    timeout_rate: float | None,
    error_rate: float | None,
    hang_s: float | None,
    seed: int | None,
) -> Faults:
    """Flags override PRAKERJA_SIM_* environment defaults."""
    base = Faults.from_env()
    try:
        return dataclasses.replace(
            base,
            latency_ms=parse_latency(latency_ms) if latency_ms else base.latency_ms,
            timeout_rate=base.timeout_rate if timeout_rate is None else timeout_rate,
            error_rate=base.error_rate if error_rate is None else error_rate,
            hang_s=base.hang_s if hang_s is None else hang_s,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def registry(
    population: PopulationFile,
    port: int = 8102,
    host: Host = "127.0.0.1",
    port_file: PortFile = None,
    latency_ms: Latency = None,
    timeout_rate: TimeoutRate = None,
    error_rate: ErrorRate = None,
    hang_s: HangS = None,
    seed: Seed = None,
) -> None:
    """Civil registry (Dukcapil) simulator: POST /v1/verify."""
    from prakerja.sim import registry as sim
    from prakerja.sim.server import serve

    faults = _faults(latency_ms, timeout_rate, error_rate, hang_s, seed)
    serve(sim.load_app(population, faults), host, port, port_file)


@app.command()
def face(
    port: int = 8103,
    host: Host = "127.0.0.1",
    port_file: PortFile = None,
    latency_ms: Latency = None,
    timeout_rate: TimeoutRate = None,
    error_rate: ErrorRate = None,
    hang_s: HangS = None,
    seed: Seed = None,
) -> None:
    """Face-check vendor simulator: POST /v1/face-check."""
    from prakerja.sim import face as sim
    from prakerja.sim.server import serve

    faults = _faults(latency_ms, timeout_rate, error_rate, hang_s, seed)
    serve(sim.create_app(faults), host, port, port_file)


@app.command()
def sms(
    port: int = 8101,
    host: Host = "127.0.0.1",
    port_file: PortFile = None,
    latency_ms: Latency = None,
    timeout_rate: TimeoutRate = None,
    error_rate: ErrorRate = None,
    hang_s: HangS = None,
    seed: Seed = None,
) -> None:
    """SMS gateway simulator: POST /sms, GET /sms?to=NUMBER."""
    from prakerja.sim import sms as sim
    from prakerja.sim.server import serve

    faults = _faults(latency_ms, timeout_rate, error_rate, hang_s, seed)
    serve(sim.create_app(faults), host, port, port_file)


@app.command("all")
def run_all(
    population: PopulationFile,
    host: Host = "127.0.0.1",
    sms_port: int = 8101,
    registry_port: int = 8102,
    face_port: int = 8103,
    latency_ms: Latency = None,
    timeout_rate: TimeoutRate = None,
    error_rate: ErrorRate = None,
    hang_s: HangS = None,
    seed: Seed = None,
) -> None:
    """All three simulators in one process, each on its own port and thread."""
    from prakerja.sim import face as face_sim
    from prakerja.sim import registry as registry_sim
    from prakerja.sim import sms as sms_sim
    from prakerja.sim.server import serve_many

    faults = _faults(latency_ms, timeout_rate, error_rate, hang_s, seed)
    apps = [
        (sms_sim.create_app(faults), sms_port),
        (registry_sim.load_app(population, faults), registry_port),
        (face_sim.create_app(faults), face_port),
    ]
    typer.echo(f"sms :{sms_port}  registry :{registry_port}  face :{face_port}", err=True)
    serve_many(apps, host)


@app.command("population")
def make_population(
    count: Annotated[int, typer.Option(min=1, help="How many people.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="JSONL file to write.")],
    seed: int = 0,
    weights: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="CSV with kode,total per kabupaten/kota (e.g. Dukcapil counts).",
        ),
    ] = None,
) -> None:
    """Generate a synthetic population (families on a KK, all 514 kabupaten/kota)."""
    from prakerja.sim.population import generate
    from prakerja.sim.regions import weights_from_csv

    started = time.perf_counter()
    try:
        pop = generate(
            count, seed=seed, weights=weights_from_csv(str(weights)) if weights else None
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    pop.write_jsonl(out)
    typer.echo(
        f"{len(pop)} people in {pop.frame['kk'].n_unique()} families, "
        f"{pop.frame['regency_code'].n_unique()} kabupaten/kota -> {out} "
        f"({time.perf_counter() - started:.1f} s)",
        err=True,
    )
