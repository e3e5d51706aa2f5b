"""SMS gateway simulator: accepts messages, de-duplicates by `client_ref`, and lets tests and the
demo read what each number received.

A repeated `client_ref` with the same recipient and text returns the first message's id and
stores nothing new; with a different recipient or text it is refused (409). Numbers are
compared in one canonical form (62...), whatever form (+62, 62, 0) the sender used.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from prakerja.sim.server import Disturber, Faults, base_app

_MSISDN = re.compile(r"^(?:\+?62|0)(8\d{7,12})$")
_SEPARATORS = re.compile(r"[\s().-]")


def canonical_number(number: str) -> str:
    """'0812-3456-789', '+62812 3456 789' -> '628123456789'; ValueError if not a mobile number."""
    match = _MSISDN.match(_SEPARATORS.sub("", number))
    if match is None:
        raise ValueError("not an Indonesian mobile number")
    return "62" + match.group(1)


class SmsRequest(BaseModel):
    to: str = Field(min_length=8, max_length=24)
    text: str = Field(min_length=1, max_length=1600)
    client_ref: str = Field(min_length=1, max_length=100)


@dataclass(frozen=True)
class Message:
    """One accepted message."""

    id: str
    to: str
    text: str
    client_ref: str
    received_at: str


class Outbox:
    """Accepted messages in arrival order, indexed by client_ref (single event loop, no locks)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.by_ref: dict[str, Message] = {}
        self._ids = itertools.count(1)

    def accept(self, to: str, text: str, client_ref: str) -> tuple[Message, bool]:
        """The stored message and whether it is new; ValueError if the ref names another one."""
        known = self.by_ref.get(client_ref)
        if known is not None:
            if (known.to, known.text) != (to, text):
                raise ValueError("client_ref already used for a different message")
            return known, False
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        message = Message(f"sms-{next(self._ids):08d}", to, text, client_ref, now)
        self.messages.append(message)
        self.by_ref[client_ref] = message
        return message, True

    def for_number(self, to: str | None) -> list[Message]:
        return [m for m in self.messages if to is None or m.to == to]

    def clear(self) -> None:
        self.messages.clear()
        self.by_ref.clear()


def create_app(faults: Faults | None = None) -> FastAPI:
    """The gateway's HTTP API."""
    disturber = Disturber(faults or Faults.from_env())
    outbox = Outbox()
    app = base_app("sms-sim", disturber)

    @app.post("/sms", status_code=202, response_model=None)
    async def send(body: SmsRequest) -> Any:
        try:
            to = canonical_number(body.to)
        except ValueError as exc:
            return JSONResponse({"error": "invalid_number", "detail": str(exc)}, status_code=422)
        trouble = await disturber.disturb()
        if trouble is not None:
            return trouble
        try:
            message, new = outbox.accept(to, body.text, body.client_ref)
        except ValueError as exc:
            return JSONResponse(
                {"error": "client_ref_conflict", "detail": str(exc)}, status_code=409
            )
        return {"id": message.id, "duplicate": not new}

    @app.get("/sms", response_model=None)
    async def received(to: str | None = Query(default=None)) -> Any:
        try:
            number = canonical_number(to) if to is not None else None
        except ValueError as exc:
            return JSONResponse({"error": "invalid_number", "detail": str(exc)}, status_code=422)
        return {"messages": [asdict(m) for m in outbox.for_number(number)]}

    @app.delete("/sms", status_code=204)
    async def clear() -> Response:
        outbox.clear()
        return Response(status_code=204)

    return app


if __name__ == "__main__":
    import sys

    from prakerja.sim.cli import app as _cli

    _cli(args=["sms", *sys.argv[1:]], prog_name="python -m prakerja.sim")
