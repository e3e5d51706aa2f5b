"""`/api/docs`: the API reference, rendered on the server from the app's OpenAPI schema.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script; both
break the platform's rules (no outside assets at run time, `script-src 'self'`). This page needs
no script at all, works on a phone, and links the machine-readable schema for client generators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from prakerja.kit.routing import new_router
from prakerja.kit.web import render

router = new_router(include_in_schema=False)
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Item:
    name: str
    type: str
    required: bool
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    signed: bool
    parameters: list[Item]
    body: str | None
    responses: list[tuple[str, str]]


@dataclass
class Section:
    title: str
    operations: list[Operation] = field(default_factory=list)


def type_of(schema: dict[str, Any]) -> str:
    """A short human reading of a JSON schema: `Order`, `array of Order`, `string | null`."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(type_of(s) for s in schema[key])
    if schema.get("type") == "array":
        return "array of " + type_of(schema.get("items", {}))
    kind = str(schema.get("type", "any"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _operation(path: str, method: str, spec: dict[str, Any]) -> Operation:
    content: dict[str, dict[str, Any]] = spec.get("requestBody", {}).get("content", {})
    body_schema = next(iter(content.values()), {}).get("schema")
    return Operation(
        method=method.upper(),
        path=path,
        summary=spec.get("summary", ""),
        description=spec.get("description", ""),
        signed=bool(spec.get("security")) or path.startswith("/api/partner/"),
        parameters=[
            Item(p["name"], f"{p['in']}, {type_of(p.get('schema', {}))}", p.get("required", False))
            for p in spec.get("parameters", [])
        ],
        body=type_of(body_schema) if body_schema else None,
        responses=[
            (code, r.get("description", "")) for code, r in spec.get("responses", {}).items()
        ],
    )


def sections(schema: dict[str, Any]) -> list[Section]:
    """Operations grouped by their first tag (else by the path's second segment)."""
    found: dict[str, Section] = {}
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            if method not in item:
                continue
            spec = item[method]
            tags = spec.get("tags") or [path.strip("/").split("/")[1 if "/" in path else 0]]
            found.setdefault(tags[0], Section(tags[0])).operations.append(
                _operation(path, method, spec)
            )
    return sorted(found.values(), key=lambda s: s.title)


def models(schema: dict[str, Any]) -> list[tuple[str, str, list[Item]]]:
    """(name, description, fields) of every component schema, by name."""
    found = []
    for name, spec in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(spec.get("required", []))
        fields = [
            Item(prop, type_of(sub), prop in required, sub.get("description", ""))
            for prop, sub in spec.get("properties", {}).items()
        ]
        if "enum" in spec:
            fields.append(Item("(one of)", ", ".join(map(str, spec["enum"])), True))
        found.append((name, spec.get("description", ""), fields))
    return found


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    schema = request.app.openapi()
    context = {"info": schema["info"], "sections": sections(schema), "models": models(schema)}
    return render(request, "api_docs.html", context)
