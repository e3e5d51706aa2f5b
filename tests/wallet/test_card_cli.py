"""`prakerja cards scan | year-end | issue-pending` against the test database."""

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from prakerja.cli import app
from prakerja.kit import clock
from prakerja.kit.clock import JAKARTA, jakarta_date, utc_now
from prakerja.kit.jobs import Job
from prakerja.settings import get_settings
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model_card import Card
from tests.wallet.card_factories import enqueue_winners, make_person


@pytest.fixture
def cli_db(db, monkeypatch):
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_issue_pending_then_scan_then_year_end(cli_db, monkeypatch):
    with cli_db.transaction() as s:
        enqueue_winners(s, [make_person(s, 700 + i) for i in range(3)])
    runner = CliRunner()
    issued = runner.invoke(app, ["cards", "issue-pending", "--chunk", "2"])
    assert issued.exit_code == 0, issued.output
    assert json.loads(issued.output.strip().splitlines()[-1])["issued"] == 3
    scan = runner.invoke(app, ["cards", "scan", "--today", "2099-01-01"])
    assert json.loads(scan.output)["enqueued"]["revoke"] == 3
    again = runner.invoke(app, ["cards", "scan", "--today", "2099-01-01"])
    assert json.loads(again.output)["enqueued"]["revoke"] == 0
    early = runner.invoke(app, ["cards", "year-end", "2099"])
    assert early.exit_code == 2
    assert json.loads(early.stderr)["error"] == "year_not_ended"
    after_2099 = dt.datetime(2100, 1, 1, 0, 1, tzinfo=JAKARTA)
    monkeypatch.setattr(clock, "utc_now", lambda: after_2099)
    assert json.loads(runner.invoke(app, ["cards", "year-end", "2099"]).output)["enqueued"] == 3
    with cli_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Card)) == 3
        assert check_ledger(s) == []


def test_bad_input_is_refused(cli_db):
    runner = CliRunner()
    assert runner.invoke(app, ["cards", "scan", "--today", "tomorrow"]).exit_code == 2
    assert runner.invoke(app, ["cards", "year-end", "99"]).exit_code == 2


def test_year_end_of_the_running_year_is_refused_and_enqueues_nothing(cli_db):
    with cli_db.transaction() as s:
        enqueue_winners(s, [make_person(s, 800 + i) for i in range(2)])
    runner = CliRunner()
    assert runner.invoke(app, ["cards", "issue-pending"]).exit_code == 0
    refused = runner.invoke(app, ["cards", "year-end", str(jakarta_date(utc_now()).year)])
    assert refused.exit_code == 2
    assert json.loads(refused.stderr)["error"] == "year_not_ended"
    with cli_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind.like("%sweep%"))) == 0
        assert set(s.scalars(select(Card.status))) == {"active"}
