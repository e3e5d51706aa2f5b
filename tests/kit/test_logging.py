"""Logs: one line per request with its request id and route template, never personal data."""

from __future__ import annotations

import json

import pytest
import structlog

from prakerja.kit.logging import configure_logging, scrub_text


@pytest.fixture
def json_logs(capsys):
    configure_logging(json_output=True)
    yield capsys
    configure_logging(json_output=False)


def _events(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_each_request_logs_one_line_with_its_id_and_route_template(client, json_logs):
    json_logs.readouterr()
    answer = client.get(
        "/certificates/NOT-A-REAL-ID-3201011505900001", headers={"x-request-id": "abc123"}
    )
    events = [e for e in _events(json_logs.readouterr().out) if e.get("event") == "request"]
    assert len(events) == 1
    event = events[0]
    assert event["request_id"] == "abc123" == answer.headers["x-request-id"]
    assert event["route"] == "/certificates/{public_id}"  # the template, not the raw path
    assert event["status"] == answer.status_code
    assert event["method"] == "GET"
    assert "3201011505900001" not in json.dumps(event)


def test_personal_data_shapes_are_masked_in_any_text():
    text = (
        "gagal kirim ke siti.aminah@example.id, +6281234567890 / 081234567890, NIK 3201011505900001"
    )
    masked = scrub_text(text)
    for secret in ("siti.aminah@example.id", "6281234567890", "081234567890", "3201011505900001"):
        assert secret not in masked
    assert masked.startswith("gagal kirim ke ***@***")


def test_a_logged_event_is_scrubbed(json_logs):
    json_logs.readouterr()
    structlog.get_logger("t").warning("smtp_failed", error="550 no mailbox siti@example.id")
    (event,) = _events(json_logs.readouterr().out)
    assert "siti@example.id" not in event["error"]


def test_a_failed_jobs_stored_error_is_scrubbed(db):
    from prakerja.kit import jobs

    @jobs.handler("test.fails_with_pii")
    def _fail(session, payload, now):
        raise RuntimeError("recipient siti@example.id refused, phone 081234567890")

    try:
        with db.transaction() as s:
            jobs.enqueue(s, "test.fails_with_pii", {}, now=jobs.utc_now())
        jobs.run_batch(db)
        with db.transaction() as s:
            error = s.scalar(jobs.select(jobs.Job.last_error))
        assert error is not None
        assert "siti@example.id" not in error
        assert "081234567890" not in error
        assert "RuntimeError" in error
    finally:
        jobs.HANDLERS.pop("test.fails_with_pii", None)
