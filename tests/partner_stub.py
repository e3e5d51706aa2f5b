"""An HTTP partner on loopback for tests of what happens when an outside system misbehaves."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PartnerStub:
    """An HTTP partner on loopback: answers `status`, holding each request while `gate` is
    closed, and counts what reached it."""

    def __init__(self) -> None:
        self.status, self.gate = 200, threading.Event()
        self.gate.set()
        self.received, self.in_flight = 0, 0
        self._count = threading.Lock()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                with partner._count:
                    partner.received += 1
                    partner.in_flight += 1
                partner.gate.wait(10)
                with partner._count:
                    partner.in_flight -= 1
                self.send_response(partner.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_in_flight(self, n: int) -> None:
        deadline = time.monotonic() + 10
        while self.in_flight < n:
            assert time.monotonic() < deadline, f"{self.in_flight} of {n} requests arrived"
            time.sleep(0.01)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
