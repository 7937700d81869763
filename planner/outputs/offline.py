"""Maps that render with no network: Leaflet's JS and CSS inlined from an installed package.

Planning offices often work on isolated networks, so planner's HTML maps carry
everything they need. :class:`OfflineMap` is a :class:`folium.Map` that, whenever it
is rendered (``m.save``, ``m.get_root().render()``, ``m._repr_html_()``):

- asks for none of folium's CDN assets (Leaflet, jQuery, Bootstrap, Font Awesome, ...);
- writes Leaflet's JavaScript and stylesheet into the page as inline ``<script>`` and
  ``<style>`` elements, with the stylesheet's images (layer-control icon, default
  marker) turned into ``data:`` URIs and the default marker icon pointed at them;
- removes any other external script or stylesheet link that an element added to the
  page header (with a :class:`planner.errors.PlannerWarning` naming it), since it could
  not load offline anyway.

Leaflet comes from the ``XStatic-Leaflet`` package (``pip install XStatic-Leaflet``)
or, when the environment variable ``PLANNER_LEAFLET_DIR`` names a folder holding
``leaflet.js``, ``leaflet.css`` and ``images/`` (such as ``node_modules/leaflet/dist``
of the npm ``leaflet`` package), from there.
"""

from __future__ import annotations

import base64
import functools
import importlib
import os
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink

from ..errors import PlannerError, PlannerWarning

#: Environment variable naming a Leaflet ``dist`` folder to use instead of XStatic-Leaflet.
LEAFLET_DIR_ENV = "PLANNER_LEAFLET_DIR"

#: ``id`` attributes of the inlined elements (tests and checks find them by these).
JS_ID = "planner-leaflet-js"
CSS_ID = "planner-leaflet-css"

_IMAGES = ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png")
_IMAGES_ALL = (*_IMAGES, "marker-shadow.png")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_URL_IN_CSS = re.compile(r"url\(\s*['\"]?images/([A-Za-z0-9_.-]+)['\"]?\s*\)")
_SOURCE_MAP = re.compile(r"^\s*//[#@] sourceMappingURL=.*$", re.MULTILINE)


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet's files, ready to inline."""

    version: str
    js: str
    css: str
    images: dict[str, str]
    origin: str


class RawElement(Element):
    """A piece of page text inserted as it is.

    branca's ``Element(text)`` compiles its text as a Jinja template, so braces in data
    (``{{ ... }}``) would be evaluated and large texts are slow to parse. This one
    renders its text unchanged.
    """

    def __init__(self, text: str) -> None:
        super().__init__("")
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """The text, unchanged."""
        return self.text


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _leaflet_dir() -> tuple[Path, str, str]:
    """The folder with leaflet.js/leaflet.css/images, its version and where it came from."""
    given = os.environ.get(LEAFLET_DIR_ENV)
    if given:
        folder = Path(given)
        if not (folder / "leaflet.js").is_file() or not (folder / "leaflet.css").is_file():
            msg = (
                f"{LEAFLET_DIR_ENV}={given!r} must be a folder holding leaflet.js, leaflet.css "
                "and images/ (e.g. node_modules/leaflet/dist of the npm leaflet package)."
            )
            raise PlannerError(msg)
        version = "unknown"
        pkg = folder.parent / "package.json"
        if pkg.is_file():
            found = re.search(r'"version"\s*:\s*"([^"]+)"', pkg.read_text(encoding="utf-8"))
            version = found.group(1) if found else version
        return folder, version, f"{LEAFLET_DIR_ENV} ({folder})"
    try:
        xleaflet = importlib.import_module("xstatic.pkg.leaflet")
    except ImportError:
        msg = (
            "offline maps need Leaflet from an installed package: pip install XStatic-Leaflet "
            f"(or set {LEAFLET_DIR_ENV} to the dist folder of the npm leaflet package), or "
            "make the map with offline=False (it then loads Leaflet from the internet)."
        )
        raise PlannerError(msg) from None
    return Path(xleaflet.BASE_DIR), str(xleaflet.VERSION), "XStatic-Leaflet"


@functools.cache
def leaflet_assets() -> LeafletAssets:
    """Leaflet's JS (source-map comment removed) and CSS (images as data URIs), cached.

    Raises
    ------
    planner.errors.PlannerError
        When no Leaflet package is installed.
    """
    folder, version, origin = _leaflet_dir()
    images = {
        name: _data_uri(folder / "images" / name)
        for name in _IMAGES_ALL
        if (folder / "images" / name).is_file()
    }
    missing = [n for n in _IMAGES if n not in images]
    if missing:
        msg = f"the Leaflet package in {folder} lacks images/{', images/'.join(missing)}."
        raise PlannerError(msg)
    js = _SOURCE_MAP.sub("", (folder / "leaflet.js").read_text(encoding="utf-8"))
    css = (folder / "leaflet.css").read_text(encoding="utf-8")

    def inline(found: re.Match[str]) -> str:
        uri = images.get(found.group(1))
        return f'url("{uri}")' if uri else "none"

    css = _URL_IN_CSS.sub(inline, css)
    # Inline <script>/<style> text must not close its own element early.
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    css = re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)
    return LeafletAssets(version=version, js=js, css=css, images=images, origin=origin)


def _icon_script(assets: LeafletAssets) -> str:
    """Point Leaflet's default marker icon at the inlined images (no path detection)."""
    opts = {
        "iconUrl": assets.images["marker-icon.png"],
        "iconRetinaUrl": assets.images["marker-icon-2x.png"],
    }
    if "marker-shadow.png" in assets.images:
        opts["shadowUrl"] = assets.images["marker-shadow.png"]
    parts = "".join(f"L.Icon.Default.prototype.options.{k}={v!r};" for k, v in opts.items())
    return f'L.Icon.Default.imagePath="";{parts}'


def _is_external(url: str) -> bool:
    return bool(_EXTERNAL.match(url.strip()))


class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose page needs no network (see the module docstring).

    Every argument is :class:`folium.Map`'s. Tile layers added to it still load from
    the internet; planner adds none unless asked (``tiles=``).
    """

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 - folium's own class attribute
    default_css: list[tuple[str, str]] = []  # noqa: RUF012

    def render(self, **kwargs: Any) -> Any:
        """Render the map, then make the page's header self-contained."""
        out = super().render(**kwargs)
        figure = self.get_root()
        if isinstance(figure, Figure):
            inline_leaflet(figure)
        return out


def inline_leaflet(figure: Figure) -> None:
    """Put Leaflet inline at the top of ``figure``'s header; drop external links.

    Called by :meth:`OfflineMap.render` after every element has added its header
    entries, so nothing added later in the render can bring a link back.
    """
    assets = leaflet_assets()
    header = figure.header
    kept: OrderedDict[str, Any] = OrderedDict()
    dropped: list[str] = []
    for name, child in header._children.items():
        if isinstance(child, JavascriptLink | CssLink) and _is_external(child.url):
            dropped.append(str(child.url))
            continue
        if name in {"leaflet", "leaflet_css", "planner_leaflet_js", "planner_leaflet_css"}:
            continue
        kept[name] = child
    ours: OrderedDict[str, Any] = OrderedDict()
    for name in ("meta_http",):
        if name in kept:
            ours[name] = kept.pop(name)
    css = RawElement(f'<style id="{CSS_ID}">{assets.css}</style>')
    js = RawElement(f'<script id="{JS_ID}">{assets.js}\n{_icon_script(assets)}</script>')
    for name, el in (("planner_leaflet_css", css), ("planner_leaflet_js", js)):
        el._parent = header
        ours[name] = el
    ours.update(kept)
    header._children = ours
    known = {url for _, url in folium.Map.default_js + folium.Map.default_css}
    unexpected = [u for u in dropped if u not in known]
    if unexpected:
        warnings.warn(
            "offline map: left out external assets that cannot load without a network: "
            + ", ".join(unexpected)
            + ". Make the map with offline=False to keep them.",
            PlannerWarning,
            stacklevel=2,
        )


_ATTR_URL = re.compile(
    r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?\s*((?:[a-z]+:)?//[^"'\s>]+))"""
    r"""|(?:url\(\s*["']?\s*((?:[a-z]+:)?//[^"')\s]+))"""
    r"""|(?:@import\s+["']((?:[a-z]+:)?//[^"']+))""",
    re.IGNORECASE,
)


def external_references(html: str) -> list[str]:
    """URLs that a page would load from the network: ``src``/``href`` attributes,
    CSS ``url(...)`` and ``@import`` pointing at ``http(s)://`` or ``//`` addresses.

    Links a person may click (``<a href>``) count too: an offline page has none.
    """
    return [next(g for g in m.groups() if g) for m in _ATTR_URL.finditer(html)]


def without_inline_leaflet(html: str) -> str:
    """``html`` with the inlined Leaflet script and stylesheet cut out.

    Leaflet's own source names URLs in strings (its SVG namespace, its home page); a
    check for URLs in a planner page looks at everything else.
    """
    out = re.sub(rf'<script id="{JS_ID}">.*?</script>', "", html, flags=re.DOTALL)
    return re.sub(rf'<style id="{CSS_ID}">.*?</style>', "", out, flags=re.DOTALL)
