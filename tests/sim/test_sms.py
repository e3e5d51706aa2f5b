"""SMS gateway simulator over real sockets."""

from __future__ import annotations

import uuid

import httpx
import pytest

from prakerja.sim.sms import canonical_number


def _post(url, **body):
    return httpx.post(f"{url}/sms", json=body, timeout=5)


def test_a_message_is_accepted_and_readable_by_number_in_any_form(sms_sim, sms_messages):
    ref = uuid.uuid4().hex
    resp = _post(sms_sim.url, to="0812-1111-0001", text="Kode OTP 123456", client_ref=ref)
    assert resp.status_code == 202
    assert resp.json()["id"].startswith("sms-")
    for form in ("081211110001", "6281211110001", "+62 812 1111 0001"):
        assert sms_messages(form) == ["Kode OTP 123456"]


def test_a_repeated_client_ref_returns_the_same_id_and_sends_nothing_new(sms_sim):
    ref = uuid.uuid4().hex
    first = _post(sms_sim.url, to="081211110002", text="halo", client_ref=ref).json()
    again = _post(sms_sim.url, to="+6281211110002", text="halo", client_ref=ref).json()
    assert again == {"id": first["id"], "duplicate": True}
    assert first["duplicate"] is False
    assert sms_sim.messages("081211110002") == ["halo"]


def test_a_client_ref_reused_for_another_message_is_refused(sms_sim):
    ref = uuid.uuid4().hex
    assert _post(sms_sim.url, to="081211110003", text="a", client_ref=ref).status_code == 202
    resp = _post(sms_sim.url, to="081211110003", text="b", client_ref=ref)
    assert resp.status_code == 409
    assert sms_sim.messages("081211110003") == ["a"]


@pytest.mark.parametrize("number", ["12345", "0212345678", "+1 650 555 0100", "08abc"])
def test_a_number_that_is_not_an_indonesian_mobile_is_refused(sms_sim, number):
    resp = _post(
        sms_sim.url,
        to=number + "0" * max(0, 8 - len(number)),
        text="x",
        client_ref=uuid.uuid4().hex,
    )
    assert resp.status_code == 422
    with pytest.raises(ValueError, match="mobile"):
        canonical_number(number)


def test_a_gateway_in_trouble_answers_503_and_keeps_nothing(launch_sim):
    sim = launch_sim("sms", "--error-rate", "1")
    resp = _post(sim.url, to="081211110004", text="x", client_ref="r1")
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "1"
    assert httpx.get(f"{sim.url}/sms", params={"to": "081211110004"}).json() == {"messages": []}


def test_clearing_empties_the_outbox(sms_sim):
    _post(sms_sim.url, to="081211110005", text="x", client_ref=uuid.uuid4().hex)
    assert httpx.get(f"{sms_sim.url}/sms").json()["messages"]
    assert httpx.delete(f"{sms_sim.url}/sms").status_code == 204
    assert httpx.get(f"{sms_sim.url}/sms").json() == {"messages": []}
