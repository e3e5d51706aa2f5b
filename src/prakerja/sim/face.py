"""Face-check vendor simulator: liveness (blink) plus a face match, with deterministic outcomes.

Rules, in order: the image must be a PNG or JPEG (else 422); an image carrying the marker
`sim:low_quality` fails `low_quality`; `blink: false` fails `no_blink`; the marker
`sim:face_not_matching` fails `face_not_matching`; anything else passes. Scores are derived
from a hash of subject and image, so the same request always scores the same.
`sample_image(outcome)` builds a tiny real PNG that forces an outcome.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import zlib
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from prakerja.sim.server import Disturber, Faults, base_app

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MARKERS = {"low_quality": b"sim:low_quality", "face_not_matching": b"sim:face_not_matching"}


class FaceCheckRequest(BaseModel):
    subject_id: str = Field(min_length=1, max_length=100)
    image_b64: str = Field(min_length=4)
    blink: bool


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def sample_image(outcome: str = "pass", size: int = 8) -> bytes:
    """A valid grey `size`x`size` PNG; outcome 'low_quality' or 'face_not_matching' embeds the
    marker that forces that result (in a tEXt chunk), 'pass' embeds none."""
    if outcome != "pass" and outcome not in MARKERS:
        raise ValueError(f"unknown outcome {outcome!r}")
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes([128]) * size for _ in range(size)))
    text = _chunk(b"tEXt", b"Comment\x00" + MARKERS[outcome]) if outcome in MARKERS else b""
    return (
        PNG_MAGIC + _chunk(b"IHDR", header) + text + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")
    )


def _similarity(subject_id: str, image: bytes, low: float, high: float) -> float:
    digest = hashlib.sha256(subject_id.encode() + b"\x00" + image).digest()
    unit = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF
    return round(low + (high - low) * unit, 4)


def judge(subject_id: str, image: bytes, blink: bool) -> dict[str, Any]:
    """The vendor's verdict for one decoded image (pure; same input, same answer)."""
    if MARKERS["low_quality"] in image:
        return {
            "result": "fail",
            "reason": "low_quality",
            "score": _similarity(subject_id, image, 0.0, 0.3),
        }
    if not blink:
        return {
            "result": "fail",
            "reason": "no_blink",
            "score": _similarity(subject_id, image, 0.0, 0.5),
        }
    if MARKERS["face_not_matching"] in image:
        return {
            "result": "fail",
            "reason": "face_not_matching",
            "score": _similarity(subject_id, image, 0.15, 0.55),
        }
    return {"result": "pass", "reason": None, "score": _similarity(subject_id, image, 0.8, 0.99)}


def decode_image(image_b64: str) -> bytes:
    """The image bytes; ValueError unless it is base64 of a PNG/JPEG of at most 2 MiB."""
    try:
        image = base64.b64decode(image_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("image_b64 is not valid base64") from exc
    if len(image) > MAX_IMAGE_BYTES:
        raise ValueError("image is larger than 2 MiB")
    if not image.startswith((PNG_MAGIC, JPEG_MAGIC)):
        raise ValueError("image is not a PNG or JPEG")
    return image


def create_app(faults: Faults | None = None) -> FastAPI:
    """The face-check vendor's HTTP API."""
    disturber = Disturber(faults or Faults.from_env())
    app = base_app("face-sim", disturber)

    @app.post("/v1/face-check", response_model=None)
    async def face_check(body: FaceCheckRequest) -> Any:
        try:
            image = decode_image(body.image_b64)
        except ValueError as exc:
            return JSONResponse({"error": "invalid_image", "detail": str(exc)}, status_code=422)
        trouble = await disturber.disturb()
        if trouble is not None:
            return trouble
        return judge(body.subject_id, image, body.blink)

    return app


if __name__ == "__main__":
    import sys

    from prakerja.sim.cli import app as _cli

    _cli(args=["face", *sys.argv[1:]], prog_name="python -m prakerja.sim")
