"""Place stations by hand and see coverage change at once: in Jupyter and in the browser.

``planner.explore(assessment)`` returns a Jupyter widget (anywidget): a Leaflet map of the
blocks coloured by the chosen circle, the facilities and the stations placed; click the
map to place a station and tick its services, click a station or facility to remove it;
a side table of coverage per circle and targets per community, undo, variants compared
side by side; ``.stations`` and ``.assessment`` take the result back into code.
``planner explore PLAN.toml`` serves the same page from 127.0.0.1 for the browser
(:mod:`planner.explorer.server`). Every number comes from :func:`planner.what_if`.

The widget and the server need the ``explore`` extra (``pip install 'planner[explore]'``:
anywidget, tornado). Leaflet comes from the XStatic-Leaflet package, inlined in the page:
no request leaves the machine.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..assessment import Assessment
from ..errors import PlannerError
from ..outputs.offline import leaflet_assets
from .session import Session, Station, Variant

if TYPE_CHECKING:
    from .widget import Explorer

__all__ = ["Session", "Station", "Variant", "explore", "module_text", "needs_extra"]

STATIC = Path(__file__).resolve().parent / "static"

#: The optional packages of the ``explore`` extra, by what needs them.
EXTRA = {"widget": ("anywidget",), "server": ("tornado",)}


def needs_extra(what: str) -> None:
    """Raise a :class:`planner.errors.PlannerError` naming the extra when a package is missing."""
    for name in EXTRA[what]:
        try:
            importlib.import_module(name)
        except ImportError:
            msg = (
                f"planner's explorer ({what}) needs the package {name!r} of the explore extra: "
                "pip install 'planner[explore]' (anywidget for Jupyter, tornado for "
                "`planner explore`)."
            )
            raise PlannerError(msg) from None


@functools.cache
def module_text() -> str:
    """The explorer's ES module with Leaflet and the styles inlined (JSON strings)."""
    assets = leaflet_assets()
    css = assets.css + "\n" + (STATIC / "explorer.css").read_text(encoding="utf-8")
    text = (STATIC / "explorer.js").read_text(encoding="utf-8")
    text = text.replace('"__PLANNER_LEAFLET_JS__"', _js_string(assets.js), 1)
    return text.replace('"__PLANNER_CSS__"', _js_string(css), 1)


def _js_string(text: str) -> str:
    """A JavaScript string literal of ``text`` that cannot close a <script> element."""
    return json.dumps(text).replace("</", "<\\/")


def explore(
    assessment: Assessment,
    *,
    out: str | os.PathLike[str] | None = None,
    lang: str = "zh",
    height: int = 620,
    proposals: Any = None,
) -> Explorer:
    """A Jupyter widget to place stations by hand and see coverage change at once.

    Parameters
    ----------
    assessment
        The result of :func:`planner.assess`.
    out
        Folder where "save variant" writes each variant's stations (GeoPackage, CSV) and
        its community's report (``<out>/variants/<name>/``); None keeps variants in
        memory (``.variants``, ``.compare()``).
    lang
        {"zh", "en"}: the language of the page and the reports.
    height
        Height of the widget in pixels.
    proposals
        Proposed sites to show beside the facilities (``planner.site(...)`` or its
        ``sites``): a click on one places a station there.

    Returns
    -------
    planner.explorer.widget.Explorer
        The widget; ``.assessment`` (the assessment with the edits, as
        :func:`planner.what_if` gives it), ``.stations`` (one row per station placed),
        ``.removed`` (labels of the facilities removed), ``.edits()`` (``add``/``remove``
        for :func:`planner.what_if`), ``.add``/``.remove``/``.undo``/``.save_variant``
        for code, ``.compare()``.

    Raises
    ------
    planner.errors.PlannerError
        When anywidget (the explore extra) is not installed.
    """
    needs_extra("widget")
    from .widget import Explorer

    return Explorer(Session(assessment, out=out, lang=lang, proposals=proposals), height=height)
