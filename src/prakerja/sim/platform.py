"""A simulated digital training platform: a real HTTP server receiving our signed webhooks and a
real HTTP client driving our partner API (publish courses and sessions, confirm orders, redeem
vouchers), with optional slow, duplicate and out-of-order calls.

    python -m prakerja.sim.platform --base-url http://127.0.0.1:8000 \\
        --client-id pk_... --secret ... --provider-code lp-maju --port 8110

With --auto-confirm (the default) every `order.placed` webhook is confirmed and its voucher
redeemed by a background worker, the way a real platform would. With --complete-after S it also
reports each redeemed order finished S seconds later, with pre/post-test scores and its own
certificate number: our rules accept that only for a course without live sessions (self-paced);
for a webinar or offline course the answer is a 409 until every session is attended, and the
simulator leaves it there.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from prakerja.marketplace import signing
from prakerja.sim.server import Disturber, Faults, base_app, serve

API = "/api/partner/v1"


@dataclass
class Behaviour:
    """How the simulated platform misbehaves when it calls us."""

    slow_s: float = 0.0  # wait this long before each call
    duplicate: bool = False  # send every call twice (re-signed, as a retrying client does)
    redeem_first: bool = False  # try to redeem the voucher before confirming (out of order)


@dataclass
class PlatformClient:
    """Signed calls to our partner API; every answer is kept in `log` for inspection."""

    base_url: str
    client_id: str
    secret: str
    behaviour: Behaviour = field(default_factory=Behaviour)
    log: list[tuple[str, int, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url, timeout=10)

    def send(self, method: str, path: str, payload: Any = None) -> httpx.Response:
        """One signed call (twice with `duplicate`); returns the last answer."""
        if self.behaviour.slow_s:
            time.sleep(self.behaviour.slow_s)
        body = b"" if payload is None else json.dumps(payload).encode()
        resp = None
        for _ in range(2 if self.behaviour.duplicate else 1):
            # a fresh nonce per call, as a real client's retry or poll would carry
            headers = signing.sign(
                self.client_id, self.secret, method, path, body, nonce=signing.new_nonce()
            )
            headers["Content-Type"] = "application/json"
            resp = self._http.request(method, path, content=body, headers=headers)
            self.log.append((path, resp.status_code, _json(resp)))
        if resp is None:  # the loop runs at least once
            raise RuntimeError("no request was sent")
        return resp

    def replay(self, method: str, path: str, payload: Any = None) -> tuple[int, int]:
        """Send byte-identical signed requests twice; (first status, second status)."""
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = signing.sign(
            self.client_id, self.secret, method, path, body, nonce=signing.new_nonce()
        )
        headers["Content-Type"] = "application/json"
        first = self._http.request(method, path, content=body, headers=headers)
        second = self._http.request(method, path, content=body, headers=headers)
        return first.status_code, second.status_code

    def publish_course(self, course: dict[str, Any]) -> httpx.Response:
        return self.send("POST", f"{API}/courses", course)

    def add_schedule(self, course_id: str, schedule: dict[str, Any]) -> httpx.Response:
        return self.send("POST", f"{API}/courses/{course_id}/schedules", schedule)

    def confirm(self, order_id: str) -> httpx.Response:
        return self.send("POST", f"{API}/orders/{order_id}/confirm")

    def cancel(self, order_id: str, reason: str) -> httpx.Response:
        return self.send("POST", f"{API}/orders/{order_id}/cancel", {"reason": reason})

    def redeem(self, voucher: str) -> httpx.Response:
        return self.send("POST", f"{API}/vouchers/{voucher}/redeem")

    def complete(self, order_id: str, pre_score: int, post_score: int) -> httpx.Response:
        body = {"order_id": order_id, "pre_score": pre_score, "post_score": post_score}
        return self.send("POST", f"{API}/completions", body)

    def report_certificate(self, order_id: str, number: str) -> httpx.Response:
        body = {"order_id": order_id, "certificate_number": number}
        return self.send("POST", f"{API}/certificates", body)

    def close(self) -> None:
        self._http.close()


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


@dataclass
class WebhookInbox:
    """Verified events by id (a redelivered event is counted, not stored twice)."""

    secrets: dict[str, str]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    redeliveries: int = 0
    refused: int = 0
    seen_signatures: set[str] = field(default_factory=set)

    def verify(self, headers: Any, path: str, body: bytes) -> bool:
        client_id = headers.get(signing.CLIENT_HEADER, "")
        secret = self.secrets.get(client_id)
        try:
            ts = int(headers.get(signing.TIMESTAMP_HEADER, ""))
        except ValueError:
            return False
        sig = headers.get(signing.SIGNATURE_HEADER, "")
        nonce = headers.get(signing.NONCE_HEADER, "")
        fresh = abs(time.time() - ts) <= 300
        if secret is None or not fresh or sig in self.seen_signatures:
            return False
        if not signing.nonce_is_valid(nonce):
            return False
        if not signing.matches(secret, "POST", path, body, ts, sig, nonce):
            return False
        self.seen_signatures.add(sig)
        return True


def make_app(
    client: PlatformClient,
    *,
    auto_confirm: bool = True,
    faults: Faults | None = None,
    complete_after: float | None = None,
) -> tuple[FastAPI, WebhookInbox]:
    """The webhook receiver; with `auto_confirm`, placed orders are confirmed and redeemed (and
    with `complete_after`, reported finished that many seconds later)."""
    inbox = WebhookInbox({client.client_id: client.secret})
    app = base_app("platform", Disturber(faults or Faults(latency_ms=(0, 5))))
    work: queue.Queue[dict[str, Any]] = queue.Queue()

    @app.post("/webhooks")
    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        if not inbox.verify(request.headers, request.url.path, body):
            inbox.refused += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        event = json.loads(body)
        if event["id"] in inbox.events:
            inbox.redeliveries += 1
        else:
            inbox.events[event["id"]] = event
            if auto_confirm and event["event"] == "order.placed":
                work.put(event["data"])
        return JSONResponse({"received": event["id"]})

    @app.get("/_sim/events")
    async def events() -> dict[str, Any]:
        return {
            "events": list(inbox.events.values()),
            "redeliveries": inbox.redeliveries,
            "refused": inbox.refused,
        }

    threading.Thread(
        target=_confirm_worker, args=(client, work, complete_after), daemon=True
    ).start()
    return app, inbox


def _confirm_worker(
    client: PlatformClient, work: queue.Queue[dict[str, Any]], complete_after: float | None
) -> None:
    while True:
        order = work.get()
        try:
            if client.behaviour.redeem_first and order.get("voucher_code"):
                client.redeem(order["voucher_code"])  # expected: 409, not yet confirmed
            confirmed = client.confirm(order["order_id"]).json()
            if confirmed.get("voucher_code"):
                redeemed = client.redeem(confirmed["voucher_code"])
                if redeemed.status_code == 200 and complete_after is not None:
                    _finish_later(client, order["order_id"], complete_after)
        except httpx.HTTPError:
            work.put(order)  # our API was unreachable: try again shortly
            time.sleep(1)


def _finish_later(client: PlatformClient, order_id: str, delay: float) -> None:
    """Report the learner finished after `delay` seconds: scores, then our certificate number.
    A refusal (a live course with sessions not yet attended) is kept in the log and left."""

    def finish() -> None:
        rng = random.Random(order_id)  # noqa: S311 - simulated test scores, not security
        pre = rng.randint(30, 60)
        try:
            done = client.complete(order_id, pre, min(100, pre + rng.randint(15, 40)))
            if done.status_code == 200:
                client.report_certificate(order_id, f"SIM-{order_id[:8].upper()}")
        except httpx.HTTPError:
            pass  # the learner can be reported again by hand; a demo does not retry forever

    timer = threading.Timer(delay, finish)
    timer.daemon = True
    timer.start()


def sample_courses(provider_code: str, count: int = 3) -> list[dict[str, Any]]:
    """Plausible courses for the demo catalogue."""
    titles = [
        ("Pemasaran Digital untuk UMKM", "Pemasaran", "webinar", 16, 750_000),
        ("Dasar Pemrograman Python", "Teknologi Informasi", "self_paced", 20, 1_000_000),
        ("Barista Profesional", "Kuliner", "offline", 18, 1_500_000),
        ("Akuntansi Dasar dengan Spreadsheet", "Keuangan", "self_paced", 15, 600_000),
    ]
    return [
        {
            "external_ref": f"sim-{i}",
            "provider_code": provider_code,
            "title": t,
            "category": c,
            "mode": m,
            "hours": h,
            "price": p,
            "capacity": 100,
            "syllabus": "30% teori, 70% praktik; pre-test dan post-test.",
        }
        for i, (t, c, m, h, p) in enumerate(titles[:count])
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m prakerja.sim.platform")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--provider-code", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8110)
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--duplicate", action="store_true")
    parser.add_argument("--redeem-first", action="store_true")
    parser.add_argument("--no-auto-confirm", action="store_true")
    parser.add_argument(
        "--complete-after", type=float, default=None, help="report redeemed orders finished"
    )
    args = parser.parse_args(argv)
    client = PlatformClient(
        args.base_url,
        args.client_id,
        args.secret,
        Behaviour(args.slow, args.duplicate, args.redeem_first),
    )
    if args.provider_code:
        for course in sample_courses(args.provider_code):
            resp = client.publish_course(course)
            print(f"publish {course['external_ref']}: {resp.status_code}")
    app, _ = make_app(
        client, auto_confirm=not args.no_auto_confirm, complete_after=args.complete_after
    )
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
