"""The compliance console: server-rendered pages under `/console`, behind the admin key.

Pages are Jinja2 templates with a little JavaScript from `/console/static`; nothing is loaded
from another origin, so the console works where the proxy has no internet access.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from proxy.console import audit, browse, playground, policies, replay, sign_in, trends

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the console's pages and static files from `app`."""
    for module in (sign_in, browse, playground, replay, trends, policies, audit):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
