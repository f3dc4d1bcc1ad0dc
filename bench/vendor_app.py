"""The mock vendor (tests/mock_vendor.py) as a module-level ASGI app, plus a /healthz route,
so `bench/latency.py` can run it with uvicorn in its own process:

    .venv/bin/python -m uvicorn bench.vendor_app:app --host 127.0.0.1 --port 9000
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.mock_vendor import MockVendor


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


vendor = MockVendor()
app = Starlette(routes=[*vendor.app().routes, Route("/healthz", healthz)])
