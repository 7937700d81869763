"""The Jupyter widget of the explorer (anywidget): the explorer's module, a session."""

from __future__ import annotations

import json
import time
from collections.abc import Hashable, Sequence
from typing import Any

import anywidget
import geopandas as gpd
import pandas as pd
import traitlets

from ..assessment import Assessment
from . import module_text
from .session import Session, Variant


class Explorer(anywidget.AnyWidget):
    """A what-if map in Jupyter (see :func:`planner.explore`).

    Attributes
    ----------
    session
        The :class:`planner.explorer.Session` behind the page.
    last_update_ms
        How long the last edit took in Python, milliseconds.
    """

    _esm = module_text()
    setup = traitlets.Unicode("{}").tag(sync=True)
    state = traitlets.Unicode("{}").tag(sync=True)
    height = traitlets.Int(620).tag(sync=True)

    def __init__(self, session: Session, *, height: int = 620, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.height = int(height)
        self.setup = json.dumps(session.setup(), ensure_ascii=False)
        self.state = json.dumps(session.view(), ensure_ascii=False)
        self.last_update_ms = 0.0
        self.on_msg(self._on_message)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        self.handle(content if isinstance(content, dict) else {})

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """Answer a message as the page sends it (``{"type": "add", ...}``); returns the state."""
        t0 = time.perf_counter()
        view = self.session.handle(message)
        view["reply_to"] = message.get("id")
        self.state = json.dumps(view, ensure_ascii=False)
        self.last_update_ms = (time.perf_counter() - t0) * 1000
        return view

    # --- the result, back in code ------------------------------------------------------

    @property
    def assessment(self) -> Assessment:
        """The assessment with the edits made so far (:func:`planner.what_if`)."""
        return self.session.current.assessment

    @property
    def stations(self) -> gpd.GeoDataFrame:
        """The stations placed, one row each (WGS-84): ``station``, ``name``, ``categories``."""
        return self.session.stations_frame()

    @property
    def removed(self) -> list[Hashable]:
        """Index labels of the facilities removed."""
        return list(self.session.current.removed)

    @property
    def variants(self) -> list[Variant]:
        """The variants saved."""
        return list(self.session.variants)

    def edits(self) -> dict[str, Any]:
        """``add``/``remove`` that repeat the edits: ``planner.what_if(a, **w.edits())``."""
        return self.session.edits()

    def compare(self) -> pd.DataFrame:
        """Population share per circle and targets passing: base, now and each variant."""
        return self.session.compare()

    # --- the same edits from code --------------------------------------------------------

    def add(
        self, lon: float, lat: float, services: Sequence[str], name: str | None = None
    ) -> dict[str, Any]:
        """Place a station as a click does; the state returned says what happened."""
        msg = {"type": "add", "lon": lon, "lat": lat, "services": list(services), "name": name}
        return self.handle(msg)

    def remove(self, key: str) -> dict[str, Any]:
        """Remove a station (``"S1"``) or facility (``"f<position>"``) as a click does."""
        return self.handle({"type": "remove", "key": key})

    def undo(self) -> dict[str, Any]:
        """Go back one step."""
        return self.handle({"type": "undo"})

    def save_variant(
        self, name: str, *, community: str | None = None, circle: str | None = None
    ) -> dict[str, Any]:
        """Keep the edits as a variant (written under ``out`` when given)."""
        return self.handle({"type": "save", "name": name, "community": community, "circle": circle})
