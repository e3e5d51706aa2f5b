"""Schema migrations (Alembic), run from code so the installed package carries them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("prakerja").joinpath("migrations")))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision`."""
    command.upgrade(config(url), revision)


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade through an existing engine (tests reuse their connection pool)."""
    cfg = config(str(engine.url))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def regenerate_initial(workdir: Path) -> None:
    """Developer tool (`make schema`): rewrite the single pre-release revision from the models.

    Until the first release the tables are one revision; after it, add revisions normally.
    Later hand-written revisions (0002 onwards: triggers, nothing a model declares) are set
    aside while 0001 is generated against an empty database, then put back on top of it.
    """
    versions = Path(str(resources.files("prakerja").joinpath("migrations", "versions")))
    later = {p: p.read_text() for p in versions.glob("*.py") if not p.name.startswith("0001_")}
    for old in [*versions.glob("0001_*.py"), *later]:
        old.unlink()
    import tempfile

    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            url = f"sqlite:///{tmp}/schema.db"
            command.revision(
                config(url), message="initial schema", autogenerate=True, rev_id="0001"
            )
        for new in versions.glob("0001_*.py"):  # alembic's header leaves "Revises: "
            new.write_text("\n".join(line.rstrip() for line in new.read_text().splitlines()) + "\n")
    finally:
        for path, source in later.items():
            path.write_text(source)
