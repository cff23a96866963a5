"""OpenAPI 3.1 for the REST API, generated from the same pydantic models the handlers parse and
return. A handler is documented by `@api(...)` under its route decorator; the document is built
from the routes actually registered on the app, so it cannot list a route that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from ..domain.accounts.roles import Role

routes = web.RouteTableDef()
F = TypeVar("F", bound=Callable[..., Any])

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}


@dataclass(frozen=True)
class ApiSpec:
    summary: str
    tag: str
    role: Role | None  # None: anyone, no sign-in
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    list_response: bool = False
    status: int = 200
    query: type[BaseModel] | None = None
    content_type: str = "application/json"
    idempotent_key: bool = False


def api(
    summary: str, *, tag: str, role: Role | None = Role.VIEWER, body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None, list_response: bool = False, status: int = 200,
    query: type[BaseModel] | None = None, content_type: str = "application/json", idempotent_key: bool = False,
) -> Callable[[F], F]:
    spec = ApiSpec(summary, tag, role, body, response, list_response, status, query, content_type, idempotent_key)

    def mark(fn: F) -> F:
        fn.__openapi__ = spec  # type: ignore[attr-defined]
        return fn

    return mark


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_document(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    for resource in app.router.resources():
        for route in resource:
            spec: ApiSpec | None = getattr(route.handler, "__openapi__", None)
            if spec is None:
                continue
            path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", resource.canonical)
            op: dict[str, Any] = {"summary": spec.summary, "tags": [spec.tag], "responses": {}}
            params = [{"name": n, "in": "path", "required": True, "schema": {"type": "integer" if n.endswith("_id") and n != "room_id" else "string"}}
                      for n in re.findall(r"\{(\w+)\}", path)]
            if spec.query is not None:
                for name, f in spec.query.model_fields.items():
                    params.append({"name": name, "in": "query", "required": f.is_required(),
                                   "description": f.description or "", "schema": {"type": "string"}})
            if spec.idempotent_key:
                params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "Alternative to the body's idempotency_key", "schema": {"type": "string"}})
            if params:
                op["parameters"] = params
            if spec.body is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema(spec.body, components)}}}
            if spec.response is not None:
                schema = _schema(spec.response, components)
                if spec.list_response:
                    schema = {"type": "array", "items": schema}
                op["responses"][str(spec.status)] = {"description": "OK", "content": {spec.content_type: {"schema": schema}}}
            else:
                content = {spec.content_type: {"schema": {"type": "string"}}} if spec.content_type != "application/json" else None
                op["responses"][str(spec.status)] = {"description": "OK", **({"content": content} if content else {})}
            error = {"description": "Refused: see error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for status in ("400", "404", "409", "422"):
                op["responses"][status] = error
            if spec.role is not None and spec.role is not Role.VIEWER:
                op["security"] = [{"bearer": []}, {"session": []}]
                op["description"] = f"Needs the {spec.role.value} role."
                op["responses"]["401"] = error
                op["responses"]["403"] = error
            elif spec.role is Role.VIEWER:
                op["description"] = "Signed-in buyers (session cookie + X-CSRF-Token, or a token)."
            paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fieldcast commerce API", "version": "1",
                 "description": "Prices are integer fen. Every order-creating call takes an idempotency key."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "fc_session"},
            },
        },
    }


@routes.get("/api/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))
