"""Face-check vendor adapter: blink liveness plus a face match, over HTTP.

Like the registry adapter it never raises for a partner failure: timeouts, connection errors
and 5xx are retried once, then the answer is `unavailable`. An image the vendor cannot read
(422) is a `fail` with reason `low_quality`, so the citizen is asked for a new photo.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Literal

import structlog

from prakerja.kit.partner_http import PartnerAnswer, post_with_retry
from prakerja.settings import get_settings

log = structlog.get_logger("prakerja.registration.face")

FaceStatus = Literal["pass", "fail", "unavailable"]
REASONS = frozenset({"no_blink", "face_not_matching", "low_quality"})


@dataclass(frozen=True)
class FaceResult:
    """The vendor's verdict; `reason` is set exactly when status is 'fail'."""

    status: FaceStatus
    reason: str | None = None
    score: float | None = None


class FaceClient:
    """Talks to the face-check vendor."""

    def __init__(
        self, base_url: str, timeout: float = 2.0, *, retries: int = 1, backoff_s: float = 0.2
    ) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.retries, self.backoff_s = retries, backoff_s

    def check(self, subject_id: str, image: bytes, blink: bool) -> FaceResult:
        """Check a selfie for liveness and match; ValueError for an empty image or subject."""
        if not image or not subject_id:
            raise ValueError("subject_id and image are required")
        payload = {
            "subject_id": subject_id,
            "blink": blink,
            "image_b64": base64.b64encode(image).decode("ascii"),
        }
        started = time.perf_counter()
        response, attempts = post_with_retry(
            self.base_url,
            "/v1/face-check",
            payload,
            timeout=self.timeout,
            retries=self.retries,
            backoff_s=self.backoff_s,
        )
        result = _interpret(response)
        quiet = result.status != "unavailable" and attempts == 1
        (log.debug if quiet else log.info)(
            "face_check",
            status=result.status,
            reason=result.reason,
            attempts=attempts,
            ms=round((time.perf_counter() - started) * 1000),
        )
        return result


def _interpret(response: PartnerAnswer | None) -> FaceResult:
    if response is None:
        return FaceResult("unavailable")
    try:
        body = response.json()
        verdict, reason, score = body.get("result"), body.get("reason"), body.get("score")
    except (ValueError, AttributeError):
        body, verdict, reason, score = {}, None, None, None
    if response.status_code == 422 and body.get("error") == "invalid_image":
        return FaceResult("fail", "low_quality")
    if response.status_code == 200 and verdict == "pass":
        return FaceResult("pass", None, _score(score))
    if response.status_code == 200 and verdict == "fail" and reason in REASONS:
        return FaceResult("fail", reason, _score(score))
    log.warning("face_unexpected_answer", status=response.status_code)
    return FaceResult("unavailable")


def _score(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def face_client() -> FaceClient:
    """A client for the configured vendor (PRAKERJA_FACE_URL, PRAKERJA_ADAPTER_TIMEOUT_S)."""
    settings = get_settings()
    return FaceClient(settings.face_url, settings.adapter_timeout_s)
