"""/docs: the API's OpenAPI description as a plain page (no scripts, no outside assets, like every page here)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from workflows.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs_redirect() -> Response:
    return RedirectResponse("/api/docs", status_code=307)


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    schema = request.app.openapi()
    operations = [{"method": method.upper(), "path": path, **op}
                  for path, methods in schema["paths"].items() for method, op in methods.items()]
    return render(request, "api_docs.html", schema=schema, operations=operations)
