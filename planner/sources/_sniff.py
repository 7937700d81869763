"""Is this file what its name says, and whole? Checks run before a file is handed to a
third-party reader (pyrosm, osmnx, GDAL, openpyxl), so that an empty, truncated or
misnamed file gets one line naming the file, what is wrong and the fix, instead of a
protobuf, XML or GDAL traceback.

The checks read a file's first bytes (magic numbers, the first XML tag) and, where the
format records its own length (OSM PBF blocks, shapefile headers, SQLite pages), compare
that with the file's size: that is how a download or copy that was cut short is found.
:func:`reading` wraps the third-party call itself for damage the checks cannot see.
"""

from __future__ import annotations

import bz2
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError

__all__ = ["check_file", "pbf_errors", "reading", "unreadable", "xml_errors"]

_HEAD_BYTES = 1 << 16
# An OSM PBF BlobHeader is small (the spec caps it at 64 KiB) and a Blob at 32 MiB.
_PBF_MAX_HEADER = 64 * 1024
_PBF_MAX_BLOB = 32 * 1024 * 1024
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Excel .xls (and Word .doc)
_SQLITE = b"SQLite format 3\x00"
_SHP_CODE = 9994
# GeoJSON files up to this size are parsed once to find truncation (GDAL reads them whole).
_GEOJSON_PARSE_BYTES = 64 << 20

#: What fixes a damaged file of each kind.
FIX = {
    "pbf": "download or export it again (Geofabrik, BBBike or osmium extract)",
    "xml": "export it again from OSM (JOSM, overpass or osmium)",
    "graphml": "save it again with osmnx.save_graphml",
    "gpkg": "export it again from your GIS",
    "shp": "copy the shapefile again with all its files (.shp, .shx, .dbf, .prj, .cpg)",
    "geojson": "export it again from your GIS",
    "xlsx": "open it in Excel and save it again as .xlsx",
    "text": "save it again as a CSV (UTF-8) file",
}


def unreadable(where: str, problem: str, kind: str) -> InputError:
    """``InputError("<where> <problem>; <fix>.")`` with the fix for a ``kind`` of file.

    A ``problem`` that ends with a full stop already holds its own fix.
    """
    if problem.endswith("."):
        return InputError(f"{where} {problem}")
    return InputError(f"{where} {problem}; {FIX.get(kind, 'check that it is the right file')}.")


@contextlib.contextmanager
def reading(where: str, kind: str, *errors: type[BaseException]) -> Iterator[None]:
    """Turn a third-party reader's ``errors`` into one InputError naming the file."""
    try:
        yield
    except errors as exc:
        problem = f"cannot be read: it is damaged or truncated ({_reason(exc)})"
        raise unreadable(where, problem, kind) from None


def _reason(exc: BaseException) -> str:
    """The first sentence of a third-party error, on one line, paths cut to file names."""
    text = " ".join(str(exc).split())
    text = re.sub(r"(?:/|[A-Za-z]:\\)[^' \"]*[/\\]([^/\\' \"]+)", r"\1", text)
    first = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0].rstrip(".;")
    if len(first) > 150:
        first = first[:150] + "..."
    return first or type(exc).__name__


def pbf_errors() -> tuple[type[BaseException], ...]:
    """What pyrosm raises on a damaged PBF file (protobuf, zlib and its own errors)."""
    import zlib

    from google.protobuf.message import DecodeError
    from pyrosm.exceptions import InvalidOSMFileError

    return (DecodeError, InvalidOSMFileError, zlib.error, OSError, EOFError, ValueError)


def xml_errors() -> tuple[type[BaseException], ...]:
    """What osmnx raises on a damaged or empty OSM XML file."""
    from xml.etree.ElementTree import ParseError

    return (ParseError, OSError, EOFError, UnicodeDecodeError)


def _head(path: Path, n: int = _HEAD_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _binary(head: bytes) -> bool:
    """More than 1 % control bytes (other than tab, newline, return): not text."""
    sample = head[:4096]
    control = sum(sample.count(bytes([c])) for c in (*range(9), *range(14, 32), 127))
    return control > max(2, len(sample) // 100)


def _looks_like_text(head: bytes) -> str | None:
    """'comma-separated' (or tab-, semicolon-) text, 'HTML', or None for binary data."""
    if _binary(head):
        return None
    try:
        text = head[:4096].decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head[:4096].decode("gb18030")
        except UnicodeDecodeError:
            return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<html", "<!doctype html", "<table", "<?xml")):
        return "HTML" if "<html" in start[:2000] or "<table" in start[:2000] else "XML"
    for sep, word in ((",", "comma"), ("\t", "tab"), (";", "semicolon")):
        if sep in text.split("\n", 1)[0]:
            return f"{word}-separated"
    return "plain"


def _kind_of_bytes(head: bytes) -> str:
    """What a file's first bytes look like, for 'it is a ...' messages."""
    if head.startswith(_ZIP):
        return "a zip archive (an .xlsx workbook or a zipped folder)"
    if head.startswith(_OLE):
        return "an old Excel .xls workbook"
    if head.startswith(_SQLITE):
        return "an SQLite database (a GeoPackage)"
    if head.startswith(b"BZh"):
        return "bzip2-compressed data"
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data"
    text = _looks_like_text(head)
    if text is None:
        return "binary data of another kind"
    return f"{text} text"


# --- OSM PBF --------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            msg = "varint"
            raise ValueError(msg)
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7


def _blob_header(data: bytes) -> tuple[bytes, int]:
    """(type, datasize) of an OSM PBF BlobHeader message."""
    pos, kind, size = 0, b"", -1
    while pos < len(data):
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            if field == 3:
                size = value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if field == 1:
                kind = data[pos : pos + length]
            pos += length
        else:
            msg = "wire type"
            raise ValueError(msg)
    if pos != len(data) or size < 0:
        msg = "header"
        raise ValueError(msg)
    return kind, size


def _pbf_problem(path: Path) -> str | None:
    """Why a file is not a whole OSM PBF file, or None: every block header is walked."""
    size = path.stat().st_size
    pos, block = 0, 0
    with path.open("rb") as fh:
        while pos < size:
            block += 1
            fh.seek(pos)
            length = int.from_bytes(fh.read(4), "big")
            header = fh.read(length) if 0 < length <= _PBF_MAX_HEADER else b""
            try:
                kind, blob = _blob_header(header) if len(header) == length else (b"", -1)
            except ValueError:
                kind, blob = b"", -1
            if block == 1 and kind != b"OSMHeader":
                return f"is not an OSM PBF file (it holds {_kind_of_bytes(_head(path))})"
            header_end = pos + 4 + length
            if header_end > size or (blob >= 0 and header_end + blob > size):
                return (
                    f"is truncated: it ends inside data block {block} ({size:,} bytes; the "
                    "download or copy was cut short)"
                )
            if blob < 0 or blob > _PBF_MAX_BLOB:
                return f"is damaged: data block {block} at byte {pos:,} is not a PBF block"
            pos = header_end + blob
    return None


# --- XML ------------------------------------------------------------------------------


def _xml_head(path: Path, where: str, compressed: bool) -> str:
    """The first characters of an XML file, decompressing a .bz2 one."""
    head = _head(path)
    if compressed:
        if not head.startswith(b"BZh"):
            if head.lstrip().startswith(b"<"):
                raise unreadable(
                    where, "is not bzip2-compressed (it is plain XML); rename it to .osm.", "xml"
                )
            raise unreadable(where, f"is not a .bz2 file (it holds {_kind_of_bytes(head)})", "xml")
        try:
            head = bz2.BZ2Decompressor().decompress(head, max_length=_HEAD_BYTES)
        except OSError as exc:
            raise unreadable(where, f"is a damaged bzip2 file ({exc})", "xml") from None
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def _root_tag(text: str) -> str | None:
    """The name of the first element of an XML text (after declarations and comments)."""
    body = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.DOTALL)
    found = re.match(r"\s*<([A-Za-z_][\w.:-]*)", body)
    return found.group(1) if found else None


def _xml_problem(path: Path, where: str, kind: str) -> str | None:
    compressed = path.name.lower().endswith(".bz2")
    text = _xml_head(path, where, compressed)
    if not text:
        return "is empty (it holds no XML)"
    root = _root_tag(text)
    want = "osm" if kind == "xml" else "graphml"
    if root is None:
        head = text[:40].encode()
        return f"is not {want.upper()} XML (it holds {_kind_of_bytes(head)}: {text[:30]!r})"
    if root.split(":")[-1].lower() != want:
        return f"is not {'OSM' if want == 'osm' else 'GraphML'} XML (its root element is <{root}>)"
    if want == "osm":
        close = re.search(r"</osm\s*>|<osm\b[^>]*/>", text)
        if close and not re.search(r"<(node|way|relation)\b", text[: close.start()]):
            return "holds no OSM elements (no node, way or relation)"
    return None


# --- other formats --------------------------------------------------------------------


def _gpkg_problem(path: Path) -> str | None:
    head = _head(path, 100)
    if not head.startswith(_SQLITE):
        return f"is not a GeoPackage (it holds {_kind_of_bytes(_head(path))})"
    if len(head) < 100:
        return "is truncated (shorter than an SQLite header)"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96] and pages > 0
    if valid and path.stat().st_size < page * pages:
        return (
            f"is truncated: its header counts {page * pages:,} bytes, the file has "
            f"{path.stat().st_size:,} (the copy was cut short)"
        )
    return None


def _sidecar(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _shp_problem(path: Path) -> str | None:
    head = _head(path, 100)
    if len(head) < 100 or int.from_bytes(head[0:4], "big") != _SHP_CODE:
        return f"is not a shapefile (it holds {_kind_of_bytes(_head(path))})"
    declared = 2 * int.from_bytes(head[24:28], "big")
    if path.stat().st_size < declared:
        return (
            f"is truncated: its header counts {declared:,} bytes, the file has "
            f"{path.stat().st_size:,}"
        )
    lacking = [s for s in (".shx", ".dbf") if _sidecar(path, s) is None]
    if lacking:
        parts = {".shx": "the index", ".dbf": "the attribute table"}
        named = " and ".join(f"{path.stem}{s} ({parts[s]})" for s in lacking)
        return f"has no {named} beside it"
    return None


def _excel_problem(path: Path, suffix: str) -> str | None:
    """Why a file named .xlsx/.xlsm/.xls is not one (problems ending in their own fix)."""
    head = _head(path)
    want_zip = suffix in (".xlsx", ".xlsm")
    if head.startswith(_ZIP if want_zip else _OLE):
        return None
    if head.startswith(_OLE):
        return f"is an old Excel .xls workbook named {suffix}; rename it to .xls."
    if head.startswith(_ZIP):
        return "is an .xlsx workbook named .xls; rename it to .xlsx."
    text = _looks_like_text(head)
    if text == "HTML":
        return (
            f"is an HTML page named {suffix} (as many web systems export tables); open it "
            "in Excel and save it as .xlsx."
        )
    if text is not None and text != "XML":
        return f"is a {text} text file named {suffix}, not a workbook; rename it to .csv."
    return f"is not an Excel workbook (it holds {_kind_of_bytes(head)})"


def _text_problem(path: Path) -> str | None:
    head = _head(path)
    if head.startswith(_ZIP):
        return "is an Excel .xlsx workbook (a zip archive), not a text table; rename it to .xlsx."
    if head.startswith(_OLE):
        return "is an old Excel .xls workbook, not a text table; rename it to .xls."
    if not head.startswith((b"\xff\xfe", b"\xfe\xff")) and _binary(head):
        return f"is not a text table (it holds {_kind_of_bytes(head)})"
    return None


def _geojson_problem(path: Path) -> str | None:
    """Not JSON at all, or (for files up to 64 MB) JSON that does not parse: truncated."""
    head = _head(path)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start not in (b"{", b"["):
        return f"is not GeoJSON (it holds {_kind_of_bytes(head)})"
    if path.stat().st_size > _GEOJSON_PARSE_BYTES:
        return None
    try:
        json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        return f"is not valid JSON ({exc}); it may be truncated"
    return None


def check_file(path: Path, where: str, kind: str) -> None:
    """Raise InputError when ``path`` is empty, truncated or not a ``kind`` file.

    Parameters
    ----------
    path
        An existing file.
    where
        The file as messages name it ("network file 'x.osm.pbf'").
    kind
        {"pbf", "xml", "graphml", "gpkg", "shp", "xlsx", "xls", "text", "geojson"}; other
        kinds are only checked for being empty.
    """
    if path.stat().st_size == 0:
        raise unreadable(where, "is empty (0 bytes)", kind)
    checks = {
        "pbf": lambda: _pbf_problem(path),
        "xml": lambda: _xml_problem(path, where, "xml"),
        "graphml": lambda: _xml_problem(path, where, "graphml"),
        "gpkg": lambda: _gpkg_problem(path),
        "shp": lambda: _shp_problem(path),
        "xlsx": lambda: _excel_problem(path, path.suffix.lower()),
        "text": lambda: _text_problem(path),
        "geojson": lambda: _geojson_problem(path),
    }
    problem = checks[kind]() if kind in checks else None
    if problem is not None:
        raise unreadable(where, problem, kind)
