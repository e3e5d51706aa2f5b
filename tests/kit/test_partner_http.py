"""Partner calls: a partner in trouble gets a bounded share of the process, over real sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from prakerja.kit import partner_http
from prakerja.kit.partner_http import PartnerGuard, guard_for, guard_states, post_with_retry
from prakerja.settings import get_settings
from tests.partner_stub import PartnerStub


class Partner(PartnerStub):
    def call(self) -> tuple[partner_http.PartnerAnswer | None, int]:
        return post_with_retry(self.url, "/v1/x", {"a": 1}, timeout=5, retries=0)


@pytest.fixture
def partner(monkeypatch: pytest.MonkeyPatch) -> Iterator[Partner]:
    monkeypatch.setenv("PRAKERJA_ADAPTER_MAX_IN_FLIGHT", "3")
    monkeypatch.setenv("PRAKERJA_ADAPTER_BREAKER_FAILURES", "2")
    monkeypatch.setenv("PRAKERJA_ADAPTER_BREAKER_RESET_S", "0.3")
    monkeypatch.setenv("PRAKERJA_ADAPTER_SLOT_WAIT_S", "0.2")
    get_settings.cache_clear()
    partner_http.close_clients()
    p = Partner()
    yield p
    p.close()
    partner_http.close_clients()
    get_settings.cache_clear()


def test_failed_calls_in_a_row_open_the_circuit_and_the_partner_is_left_alone(partner):
    partner.status = 503
    assert partner.call() == (None, 1)
    assert partner.call() == (None, 1)
    assert partner.received == 2
    assert guard_states()[0]["circuit"] == "open"
    assert [partner.call() for _ in range(5)] == [(None, 0)] * 5  # answered without a call
    assert partner.received == 2


def test_after_the_reset_time_one_trial_call_closes_the_circuit_if_it_succeeds(partner):
    partner.status = 503
    partner.call(), partner.call()
    time.sleep(0.35)
    partner.status, partner.gate = 200, threading.Event()  # the trial hangs until released
    trial = threading.Thread(target=partner.call)
    trial.start()
    partner.wait_in_flight(1)
    assert partner.call() == (None, 0)  # only the trial goes through while it runs
    partner.gate.set()
    trial.join(10)
    answer, attempts = partner.call()
    assert (answer is not None, attempts) == (True, 1)
    assert answer is not None
    assert answer.status_code == 200
    assert guard_states()[0] == {
        "partner": partner.url,
        "circuit": "closed",
        "in_flight": 0,
        "failures_in_a_row": 0,
    }


def test_a_failed_trial_opens_the_circuit_again_for_the_whole_reset_time(partner):
    partner.status = 503
    partner.call(), partner.call()
    time.sleep(0.35)
    assert partner.call() == (None, 1)  # the trial reached the partner and failed
    assert partner.call() == (None, 0)
    assert partner.received == 3


def test_a_refusal_below_500_means_the_partner_is_up(partner):
    partner.status = 503
    partner.call()
    partner.status = 422
    answer, _ = partner.call()
    assert answer is not None
    assert answer.status_code == 422
    partner.status = 503
    partner.call()  # one failure in a row again, not two
    assert guard_states()[0]["circuit"] == "closed"


def test_calls_beyond_the_slots_are_not_made_while_the_partner_is_slow(partner):
    partner.gate.clear()
    slow = [threading.Thread(target=partner.call) for _ in range(3)]
    for t in slow:
        t.start()
    partner.wait_in_flight(3)
    assert partner.call() == (None, 0)
    assert partner.received == 3
    partner.gate.set()
    for t in slow:
        t.join(10)
    answer, _ = partner.call()  # slots free again; being busy is not a failure
    assert answer is not None
    assert answer.status_code == 200
    assert guard_states()[0]["failures_in_a_row"] == 0


def test_a_call_waits_for_a_slot_that_frees_up_within_its_wait(partner, monkeypatch):
    monkeypatch.setenv("PRAKERJA_ADAPTER_SLOT_WAIT_S", "10")
    get_settings.cache_clear()  # read when the partner's guard is made, at its first call
    partner.gate.clear()
    first = [threading.Thread(target=partner.call) for _ in range(3)]
    for t in first:
        t.start()
    partner.wait_in_flight(3)
    late: list[tuple[partner_http.PartnerAnswer | None, int]] = []
    waiting = threading.Thread(target=lambda: late.append(partner.call()))
    waiting.start()
    time.sleep(0.1)
    assert partner.received == 3  # the fourth call waits for a slot, not on the partner
    partner.gate.set()
    for t in [*first, waiting]:
        t.join(10)
    assert late[0][0] is not None
    assert late[0][0].status_code == 200
    assert partner.received == 4


def test_each_partner_has_its_own_guard(partner):
    partner.status = 503
    partner.call(), partner.call()
    other = Partner()
    try:
        answer, _ = other.call()
        assert answer is not None
        assert answer.status_code == 200
    finally:
        other.close()
    assert guard_for(partner.url).state()["circuit"] == "open"
    assert guard_for(other.url).state()["circuit"] == "closed"


def test_a_guard_refuses_nonsense_settings():
    with pytest.raises(ValueError, match="at least one slot"):
        PartnerGuard("x", max_in_flight=0, failures_to_open=1, reset_s=1)


def test_settings_keep_the_bulkhead_below_the_route_threads():
    from pydantic import ValidationError

    from prakerja.settings import Settings

    # 12 threads: 3 for dependencies, 9 for route bodies
    assert Settings(web_threads=12, adapter_max_in_flight=8).adapter_max_in_flight == 8
    with pytest.raises(ValidationError, match="below the 9 route threads"):
        Settings(web_threads=12, adapter_max_in_flight=9)
    with pytest.raises(ValidationError, match="greater than or equal to 4"):
        Settings(web_threads=3, adapter_max_in_flight=1)
