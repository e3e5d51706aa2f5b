"""`/api/docs` is rendered on the server: every operation and model, no outside asset, no script."""

from __future__ import annotations

import re


def test_the_api_reference_lists_every_operation_without_scripts_or_cdn(client):
    schema = client.get("/api/openapi.json").json()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.text
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']https?://""", html), "an outside asset"
    operations = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 20
    for operation in operations:
        assert operation in html, operation
    for name in schema["components"]["schemas"]:
        assert f'id="m-{name}"' in html, name
    assert "/api/partner/v1/orders/{order_id}/confirm" in html
    assert "signed" in html


def test_the_api_reference_speaks_indonesian_first_and_english_on_request(client):
    assert "Skema yang dapat dibaca mesin (OpenAPI)" in client.get("/api/docs").text
    english = client.get("/api/docs?lang=en").text
    assert "Machine-readable schema (OpenAPI)" in english
