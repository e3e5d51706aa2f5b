"""Face-check simulator and adapter, over real sockets."""

from __future__ import annotations

import base64

import httpx
import pytest

from prakerja.registration.face import FaceClient, face_client
from prakerja.sim.face import PNG_MAGIC, judge, sample_image


@pytest.fixture(scope="module")
def client(face_sim):
    return FaceClient(face_sim.url, timeout=2.0, backoff_s=0.01)


def test_a_live_matching_face_passes_with_a_high_score(face_sim):
    result = face_client().check("subject-1", sample_image("pass"), blink=True)
    assert result.status == "pass"
    assert result.reason is None
    assert result.score is not None
    assert 0.8 <= result.score <= 0.99


@pytest.mark.parametrize(
    ("image", "blink", "reason"),
    [
        ("pass", False, "no_blink"),
        ("face_not_matching", True, "face_not_matching"),
        ("low_quality", True, "low_quality"),
        ("low_quality", False, "low_quality"),
    ],
)
def test_each_failure_reason_can_be_forced(client, image, blink, reason):
    result = client.check("subject-2", sample_image(image), blink=blink)
    assert (result.status, result.reason) == ("fail", reason)


def test_something_that_is_not_a_photo_is_a_low_quality_failure(client, face_sim):
    result = client.check("subject-3", b"GIF89a not a jpeg", blink=True)
    assert (result.status, result.reason) == ("fail", "low_quality")
    resp = httpx.post(
        f"{face_sim.url}/v1/face-check",
        timeout=5,
        json={"subject_id": "s", "image_b64": "@@not base64@@", "blink": True},
    )
    assert resp.status_code == 422


def test_the_same_request_scores_the_same_and_another_subject_differently():
    image = sample_image()
    assert judge("a", image, True) == judge("a", image, True)
    assert judge("a", image, True)["score"] != judge("b", image, True)["score"]


def test_sample_images_are_real_pngs():
    for outcome in ("pass", "low_quality", "face_not_matching"):
        assert sample_image(outcome).startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="unknown outcome"):
        sample_image("sunglasses")


def test_a_failing_vendor_is_retried_once_then_unavailable(launch_sim):
    sim = launch_sim("face", "--error-rate", "1")
    result = FaceClient(sim.url, timeout=2, backoff_s=0.01).check("s", sample_image(), True)
    assert result.status == "unavailable"
    assert sim.stats()["requests"] == 2


def test_a_hanging_vendor_is_unavailable(launch_sim):
    sim = launch_sim("face", "--timeout-rate", "1", "--hang-s", "5")
    result = FaceClient(sim.url, timeout=0.3, backoff_s=0.01).check("s", sample_image(), True)
    assert result.status == "unavailable"
    assert sim.stats()["timeouts"] == 2


def test_an_empty_image_is_refused_before_any_call(client):
    with pytest.raises(ValueError, match="required"):
        client.check("s", b"", blink=True)


def test_the_wire_format_is_base64_json(face_sim):
    resp = httpx.post(
        f"{face_sim.url}/v1/face-check",
        timeout=5,
        json={
            "subject_id": "s",
            "image_b64": base64.b64encode(sample_image()).decode(),
            "blink": True,
        },
    )
    assert resp.status_code == 200
    assert set(resp.json()) == {"result", "reason", "score"}
