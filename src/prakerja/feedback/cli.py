"""`prakerja feedback train|evaluate`: fit, version and measure the triage model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from prakerja.feedback import registry
from prakerja.feedback.classifier import BadTrainingData, Record, evaluate, read_records

feedback_app = typer.Typer(help="The citizen-message triage model.", no_args_is_help=True)
COMMANDS = {"feedback": feedback_app}

DATA_HELP = "JSON Lines of {text, topic, sentiment, urgent}, or a .tsv of text<TAB>sentiment."


def _records(path: Path) -> list[Record]:
    try:
        return read_records(path)
    except BadTrainingData as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc


DataOpt = Annotated[Path, typer.Option("--data", help=DATA_HELP)]
ModelsOpt = Annotated[
    Path | None, typer.Option("--models", help="Models directory (default var/models).")
]


@feedback_app.command("train")
def train_command(
    data: DataOpt,
    models: ModelsOpt = None,
    activate: Annotated[
        bool,
        typer.Option("--activate/--no-activate", help="Activate it if it beats the current one."),
    ] = True,
    with_seed: Annotated[
        bool,
        typer.Option("--with-seed/--no-seed", help="Also learn from the built-in seed messages."),
    ] = True,
) -> None:
    """Train a new model version; it becomes active only if it wins on a held-out split."""
    records = _records(data)
    try:
        report = registry.train_and_register(
            records,
            models or registry.models_dir(),
            with_seed=with_seed,
            activate_if_better=activate,
        )
    except BadTrainingData as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(report))


@feedback_app.command("evaluate")
def evaluate_command(data: DataOpt, models: ModelsOpt = None) -> None:
    """Print one JSON line: macro-F1, per-class precision/recall and confusion matrices."""
    records = _records(data)
    model = registry.active_model(models or registry.models_dir())
    report = evaluate(model, records)
    report["model_version"] = model.meta.get("version")
    typer.echo(json.dumps(report))
