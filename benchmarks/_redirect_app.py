"""The WSGI app bench_redirect.py serves: the real app plus a bare route that answers the same 302 without counting."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.wrappers import Response

from service.web import create_app
from service.web.redirects import redirect_response


def build() -> Flask:
    """create_app() with GET /bare/<code>: the same 302 (same target, same headers), no lookup, no click."""
    app = create_app()
    target = os.environ["BENCH_TARGET"]

    @app.route("/bare/<code>")
    def bare(code: str) -> Response:
        return redirect_response(target)

    return app


app = build()
