"""Headless Chromium for the map and report tests (Playwright driving Debian's chromium).

Playwright's Python package only drives the browser: nothing is downloaded, the
browser is the system's ``/usr/bin/chromium`` (installed by ``.ci/run``). The browser
runs with networking disabled (every host resolves to nothing, and every http(s)
request is aborted) while every request, console message, page error and dialog is
recorded, so a test can assert that a page loaded nothing but its own file.

Locally, a machine without chromium or playwright skips these tests; on CI (``CI`` set)
that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import unavailable

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def chromium_path() -> str:
    """Debian's chromium, or skip (locally) / fail (on CI)."""
    path = os.environ.get("PLANNER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        unavailable("chromium is not installed (apt-get install chromium)")
    return path


@dataclass
class Visit:
    """What happened while a page loaded and was used."""

    page: Any
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def external_requests(self) -> list[str]:
        """Requests for anything but the file itself and inline data."""
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]

    def assert_clean(self) -> None:
        """No request left the file, no console error, no page error, no dialog."""
        assert self.external_requests == [], self.external_requests
        assert self.console_errors == [], self.console_errors
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs

    def count(self, selector: str, frame: Any = None) -> int:
        """Elements matching a CSS selector (in ``frame`` or the main page)."""
        target = frame if frame is not None else self.page
        return int(target.evaluate(f"document.querySelectorAll({selector!r}).length"))


class Browser:
    """One headless chromium for a test module."""

    def __init__(self) -> None:
        exe = chromium_path()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            unavailable("the playwright package is not installed (pip install playwright)")
            raise  # unreachable: unavailable() raises
        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(
            executable_path=exe, headless=True, args=CHROMIUM_FLAGS
        )

    def close(self) -> None:
        self._browser.close()
        self._pw.stop()

    @contextmanager
    def visit(
        self,
        path: Path,
        *,
        ready: str | None = "window.plannerReady === true",
        width: int = 1200,
        height: int = 800,
    ) -> Iterator[Visit]:
        """Open ``path`` (file://) and wait until ``ready`` (JS) holds."""
        context = self._browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        seen = Visit(page)
        context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda route: route.abort())
        page.on("request", lambda r: seen.requests.append(r.url))
        page.on("console", lambda m: seen.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: seen.errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            seen.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", on_dialog)
        try:
            page.goto(Path(path).resolve().as_uri(), wait_until="load")
            if ready:
                page.wait_for_function(ready, timeout=20_000)
            yield seen
        finally:
            context.close()


def screenshot(seen: Visit, path: Path, *, full_page: bool = False) -> Path:
    """Write a PNG of the page for a person to look at, and print where it is."""
    seen.page.wait_for_timeout(350)  # let Leaflet's fade animations (popups) finish
    seen.page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path
