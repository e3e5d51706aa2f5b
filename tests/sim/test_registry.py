"""Civil-registry simulator and adapter, over real sockets."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from prakerja.registration.registry import RegistryClient, registry_client
from prakerja.sim.registry import normalise_name


@pytest.fixture(scope="module")
def person(registry_sim):
    return registry_sim.population.person(0)


@pytest.fixture(scope="module")
def client(registry_sim):
    return RegistryClient(registry_sim.url, timeout=2.0, backoff_s=0.01)


def test_a_known_person_matches_on_every_field(registry_sim, person):
    result = registry_client().verify(
        person.nik, person.kk, person.birth_date, person.name.upper(), person.mother_name
    )
    assert result.status == "matched"
    assert result.fields == {
        "nik": "match",
        "kk": "match",
        "birth_date": "match",
        "name": "match",
        "mother_name": "match",
    }
    assert result.reference is not None
    assert result.reference.startswith("DKC")


def test_every_person_in_the_population_matches_on_nik_kk_and_birth_date(registry_sim, client):
    for p in registry_sim.population.people()[::40]:
        assert client.verify(p.nik, p.kk, p.birth_date).status == "matched"


def test_a_wrong_kk_is_a_mismatch_naming_the_field(client, person, registry_sim):
    other_kk = next(p.kk for p in registry_sim.population.people() if p.kk != person.kk)
    result = client.verify(person.nik, other_kk, person.birth_date)
    assert result.status == "mismatch"
    assert result.fields["kk"] == "mismatch"
    assert result.fields["birth_date"] == "match"
    assert result.fields["name"] == "not_checked"


def test_a_wrong_birth_date_or_name_is_a_mismatch(client, person):
    wrong_day = client.verify(person.nik, person.kk, person.birth_date + dt.timedelta(days=1))
    assert (wrong_day.status, wrong_day.fields["birth_date"]) == ("mismatch", "mismatch")
    wrong_name = client.verify(person.nik, person.kk, person.birth_date, name="Someone Else")
    assert (wrong_name.status, wrong_name.fields["name"]) == ("mismatch", "mismatch")


def test_an_unknown_nik_is_not_found_every_time(client, registry_sim):
    known = {p.nik for p in registry_sim.population.people()}
    nik = next(n for n in (f"3276015505990{i:03d}" for i in range(999)) if n not in known)
    for _ in range(3):
        result = client.verify(nik, "3276011203150001", dt.date(1999, 5, 15))
        assert result.status == "mismatch"
        assert result.fields["nik"] == "not_found"


def test_a_malformed_nik_is_refused_before_any_call(client, registry_sim):
    before = registry_sim.process.stats()["requests"]
    with pytest.raises(ValueError, match="NIK"):
        client.verify("12345", "3276011203150001", dt.date(1999, 5, 15))
    assert registry_sim.process.stats()["requests"] == before


def test_the_simulator_rejects_malformed_requests_with_422(registry_sim):
    resp = httpx.post(f"{registry_sim.url}/v1/verify", json={"nik": "x", "kk": "1"}, timeout=5)
    assert resp.status_code == 422


def test_a_hanging_registry_is_retried_once_then_unavailable(launch_sim, sim_population, person):
    sim = launch_sim(
        "registry", "--population", str(sim_population[1]), "--timeout-rate", "1", "--hang-s", "5"
    )
    result = RegistryClient(sim.url, timeout=0.3, backoff_s=0.01).verify(
        person.nik, person.kk, person.birth_date
    )
    assert result.status == "unavailable"
    assert result.reference is None
    assert sim.stats()["timeouts"] == 2


def test_a_failing_registry_is_retried_once_then_unavailable(launch_sim, sim_population, person):
    sim = launch_sim("registry", "--population", str(sim_population[1]), "--error-rate", "1")
    result = RegistryClient(sim.url, timeout=2, backoff_s=0.01).verify(
        person.nik, person.kk, person.birth_date
    )
    assert result.status == "unavailable"
    assert sim.stats() == {"requests": 2, "timeouts": 0, "errors": 2}


def test_a_registry_that_is_down_is_unavailable_not_an_exception(person):
    result = RegistryClient("http://127.0.0.1:9", timeout=0.5, backoff_s=0.01).verify(
        person.nik, person.kk, person.birth_date
    )
    assert result.status == "unavailable"


def test_names_compare_like_ktp_spellings():
    assert normalise_name("  siti  nur-aisyah ") == "SITI NURAISYAH"
    assert normalise_name("I Wayan Sudarsana") == normalise_name("I WAYAN SUDARSANA")
