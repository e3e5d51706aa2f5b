"""The platform shell: schema from migrations, home page, problem responses, headers."""

from prakerja.kit import jobs


def test_home_page_speaks_indonesian_by_default(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert "Daftar" in resp.text
    assert resp.headers["content-security-policy"].startswith("default-src 'self'")
    assert resp.headers["x-request-id"]


def test_every_page_leads_to_help_and_complaints(client):
    home = client.get("/").text
    assert '<a href="/complaints" id="footer-help">Bantuan dan pengaduan</a>' in home
    assert client.get("/kamu-bilang-kami-perbaiki").status_code == 200
    assert client.get("/complaints", follow_redirects=False).status_code == 303  # log in first


def test_english_on_request_is_remembered(client):
    assert "Register" in client.get("/?lang=en").text
    assert "Register" in client.get("/").text


def test_the_language_switch_keeps_the_pages_own_query(client):
    page = client.get("/courses", params={"q": "kopi", "lang": "id"}).text
    assert 'href="?q=kopi&amp;lang=en"' in page
    assert 'href="?q=kopi&amp;lang=id"' in page
    assert 'href="?lang=en"' in client.get("/").text


def test_unknown_api_route_is_a_problem_json(client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == 404


def test_health_touches_the_database(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_database_that_refuses_connections_is_a_503_to_retry_not_a_500():
    """No free connection (PostgreSQL's "too many clients", a restart): the request changed
    nothing and may be sent again, so it says 503 with Retry-After, in the citizen's language."""
    from fastapi.testclient import TestClient

    from prakerja.app import create_app
    from prakerja.kit.db import Database
    from prakerja.settings import get_settings

    nowhere = Database(
        "postgresql://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(create_app(get_settings(), nowhere), raise_server_exceptions=False) as c:
        api = c.get("/healthz", headers={"Accept": "application/json"})
        page = c.get("/healthz", headers={"Accept": "text/html"})
    assert api.status_code == 503
    assert api.headers["retry-after"] == "2"
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["code"] == "busy"
    assert page.status_code == 503
    assert page.headers["retry-after"] == "2"
    assert "sedang sibuk" in page.text
    nowhere.dispose()


def test_every_route_body_runs_off_the_shared_thread_pool():
    """Sync route bodies on their own threads, their answers validated on the event loop: no
    route body can hold the thread another request needs to finish (kit.routing._on_route_threads).
    A router made with plain APIRouter instead of kit.routing.new_router would fail this."""
    import inspect

    from fastapi.routing import APIRoute

    from prakerja import portal
    from prakerja.contexts import import_all

    modules = [portal, *import_all("api"), *import_all("views")]  # what create_app includes
    routes = [r for m in modules for r in m.router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 100
    sync = [r.path for r in routes if not inspect.iscoroutinefunction(r.dependant.call)]
    assert sync == []
    wrapped = [r for r in routes if hasattr(r.endpoint, "__wrapped__")]
    assert len(wrapped) > 100


def test_a_failing_job_is_retried_then_dead(db):
    calls = []

    @jobs.handler("test.always_fails")
    def _fail(session, payload, now):
        calls.append(payload)
        raise RuntimeError("boom")

    with db.transaction() as s:
        jobs.enqueue(s, "test.always_fails", {"n": 1}, max_attempts=1)
    assert jobs.run_batch(db) == (0, 1)
    with db.transaction() as s:
        assert jobs.counts(s) == {"dead": 1}
    assert calls == [{"n": 1}]


def test_every_response_carries_its_request_id_security_headers_and_one_csrf_cookie(client):
    first = client.get("/", headers={"X-Request-ID": "abc-123"})
    assert first.headers["x-request-id"] == "abc-123"
    assert first.headers["x-frame-options"] == "DENY"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("pk_csrf=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    again = client.get("/")  # the browser now holds the cookie: no new one
    assert "pk_csrf=" not in again.headers.get("set-cookie", "")
    forged = client.get("/", headers={"X-Request-ID": "bad id\r\nX-Evil: 1"})
    assert forged.headers["x-request-id"] != "bad id"
    assert "x-evil" not in forged.headers
    missing = client.get("/api/v1/nothing-here", headers={"X-Request-ID": "req-9"})
    assert missing.json()["request_id"] == "req-9"
    assert missing.headers["content-security-policy"].startswith("default-src 'self'")
