"""The web page served by `manifest-loader serve` at `/`: three static files, no build step.

`index.html`, `app.js` and `style.css` live beside this module and ship in the wheel. The page
talks only to the JSON API under `/api/` on the same origin; it loads nothing from elsewhere
(the Content-Security-Policy below enforces that), so it works offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

WEB_DIR = Path(__file__).resolve().parent
ASSETS = ("index.html", "app.js", "style.css")

# Same origin only: no inline script, nothing from the network, no plugins, no framing.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def mount_web(app: FastAPI) -> None:
    """Serve the page at `/` and its script and style sheet under `/web/`.

    Routes, not a catch-all mount at `/`, so the order relative to the API's routes never matters.
    """
    from fastapi.responses import FileResponse

    def route(name: str, media_type: str) -> Callable[[], FileResponse]:
        # A closure, not a parameter: the file served is fixed here and never comes from the request.
        def serve() -> FileResponse:
            return FileResponse(WEB_DIR / name, media_type=media_type, headers=HEADERS)

        return serve

    app.add_api_route("/", route("index.html", "text/html; charset=utf-8"), methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/web/app.js", route("app.js", "text/javascript; charset=utf-8"), methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/web/style.css", route("style.css", "text/css; charset=utf-8"), methods=["GET"],
                      include_in_schema=False)
