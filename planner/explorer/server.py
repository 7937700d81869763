"""The explorer as a local web page: ``planner explore PLAN.toml``.

A tornado server bound to 127.0.0.1 alone serves one page (the explorer's module with
Leaflet inlined) and a small JSON API answered by a :class:`Session`. Requests must name
the server's own address in their Host header (a page elsewhere cannot reach it through
DNS rebinding), and the API wants the token written in the page (a page elsewhere cannot
send it: browsers do not let another origin add that header without asking). The page's
Content-Security-Policy allows nothing but the server itself.

Tornado is the server library: one well-kept package without dependencies of its own,
already installed wherever Jupyter is, and its asyncio server binds exactly the address
it is given.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import webbrowser
from collections.abc import Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from . import STATIC, module_text
from .session import Session

HOST = "127.0.0.1"

CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="planner-token" content="{token}">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>html, body {{ margin: 0; height: 100%; }}
#planner-explorer {{ --pe-height: 100vh; }}
.planner-explorer .pe-root {{ border: 0; }}</style>
</head><body><div id="planner-explorer"></div>
<script type="module" src="/main.js"></script>
</body></html>
"""


class _Base(tornado.web.RequestHandler):
    """Every answer: this host only, no caching, nothing from elsewhere."""

    server: ExplorerServer

    def initialize(self, server: ExplorerServer) -> None:
        self.server = server

    def prepare(self) -> None:
        if self.request.host not in self.server.hosts:
            raise tornado.web.HTTPError(403, reason="unknown host")

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}: {self._reason}")


class _Page(_Base):
    def get(self) -> None:
        s = self.server
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            PAGE.format(
                lang="zh-CN" if s.session.lang == "zh" else "en",
                token=html.escape(s.token),
                title=html.escape(s.title),
            )
        )


class _Script(_Base):
    def get(self, name: str) -> None:
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        if name == "explorer.js":
            self.finish(module_text())
        else:
            self.finish((STATIC / "main.js").read_text(encoding="utf-8"))


class _Api(_Base):
    def prepare(self) -> None:
        super().prepare()
        given = self.request.headers.get("X-Planner-Token", "")
        if not secrets.compare_digest(given, self.server.token):
            raise tornado.web.HTTPError(403, reason="missing or wrong token")

    def reply(self, value: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(value, ensure_ascii=False))

    def get(self, what: str) -> None:
        if what == "setup":
            self.reply(self.server.setup)
        elif what == "state":
            self.reply(self.server.session.view())
        else:
            raise tornado.web.HTTPError(404)

    def post(self, what: str) -> None:
        if what != "message":
            raise tornado.web.HTTPError(404)
        try:
            msg = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            msg = None
        if not isinstance(msg, dict):
            view = self.server.session.view(("error", "the request was not a JSON object."))
        else:
            view = self.server.session.handle(msg)
            view["reply_to"] = msg.get("id")
        self.reply(view)


class ExplorerServer:
    """The explorer's server for one session, on 127.0.0.1 (see the module docstring).

    Parameters
    ----------
    session
        The session the page edits.
    port
        The port (0: a free one).
    title
        The page's title.
    """

    def __init__(self, session: Session, *, port: int = 0, title: str = "planner explore") -> None:
        self.session = session
        self.port = int(port)
        self.title = title
        self.token = secrets.token_urlsafe(24)
        self.setup = session.setup()
        self.hosts: set[str] = set()
        self._server: tornado.httpserver.HTTPServer | None = None

    def listen(self) -> str:
        """Bind 127.0.0.1 and start answering (within the running asyncio loop); the URL."""
        sockets = tornado.netutil.bind_sockets(self.port, address=HOST)
        self.port = int(sockets[0].getsockname()[1])
        self.hosts = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        args = {"server": self}
        app = tornado.web.Application(
            [
                (r"/", _Page, args),
                (r"/(explorer\.js|main\.js)", _Script, args),
                (r"/api/(setup|state|message)", _Api, args),
            ]
        )
        self._server = tornado.httpserver.HTTPServer(app, max_body_size=1 << 20)
        self._server.add_sockets(sockets)
        return self.url

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://{HOST}:{self.port}/"

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.stop()


def serve(
    session: Session,
    *,
    port: int = 0,
    open_browser: bool = True,
    title: str = "planner explore",
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the explorer on 127.0.0.1 until interrupted (Ctrl-C).

    ``ready(url)`` is called once the server listens; the default browser opens the page
    unless ``open_browser`` is False.
    """

    async def run() -> None:
        server = ExplorerServer(session, port=port, title=title)
        url = server.listen()
        if ready is not None:
            ready(url)
        if open_browser:
            webbrowser.open(url)
        try:
            await asyncio.Event().wait()
        finally:
            server.stop()

    asyncio.run(run())
