"""Opening hours: hours open per day of the week, and the plan's "8 hours a day" check.

The plan asks that community service facilities open "generally no less than 8 hours a
day" (开放时间一般不少于每天8小时, 三(五)1). OpenStreetMap facilities carry an
``opening_hours`` tag; planners' files carry a column such as ``营业时间`` or ``开放时间``.

Parsing uses ``opening-hours-py`` (module ``opening_hours``), the Python binding of the
maintained Rust implementation of the OSM ``opening_hours`` specification. Every distinct
string is parsed once. A value that is not valid syntax is reported in ``parse_error``,
never guessed.

How a week's hours are counted (planner's reading, [I]):

* **Reference week.** Hours are those of Monday 11 to Sunday 17 March 2024
  (:data:`REFERENCE_WEEK`), an ordinary week: no public holiday or make-up working day
  (调休) in mainland China (nor in Finland, whose extract the demo uses), so ``PH``
  rules do not apply, and rules for other months or dates (``Jul-Aug off``) are outside
  it. Pass ``week=`` to evaluate another week.
* **Past midnight.** An opening that crosses midnight and lasts at most 24 hours counts
  on the day it starts: ``Fr 18:00-02:00`` is 8 hours on Friday, none on Saturday.
  Longer continuous openings (``24/7``, a weekend open round the clock) count by
  calendar day.
* **Unknown state.** Time the expression marks ``unknown`` is not counted as open; it
  is reported in ``unknown_h``.
* **Sun events** (``sunrise-sunset``) take the parser's defaults without coordinates:
  sunrise 07:00, sunset 19:00.
* **"8 hours a day"** is read on a *typical opening day* by default: the median of the
  hours of the days a facility opens must reach the minimum (``reading="median_day"``);
  a lunch-time Saturday does not fail a facility open 8 h Monday to Friday. The strict
  reading, *every day it opens* (``reading="every_day"``), is an option. Every result
  records the reading used (``attrs["reading"]`` and :func:`describe_reading`).
* **Simple Chinese forms** such as ``周一至周五 9:00-17:00``, ``每天 8:30-12:00，14:00-18:00``,
  ``24小时`` or ``9:00-17:00，周一休息`` are not OSM syntax. They are rewritten into it
  (``Mo-Fr 09:00-17:00``) only when the whole text is days, times and open/closed words;
  the expression used is in ``parsed_as``. Anything else is unparseable.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import InputError, closest
from .rules import HOURS_READINGS
from .sources import OPENING_HOURS, require_column

__all__ = [
    "DAYS",
    "HOURS_COLUMNS",
    "HOURS_READINGS",
    "REFERENCE_WEEK",
    "describe_reading",
    "hours_per_day",
    "opening_hours_check",
]

#: Day columns, Monday first (OSM abbreviations).
DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
#: Monday of the week whose hours are counted: 11-17 March 2024 holds no public holiday.
REFERENCE_WEEK = date(2024, 3, 11)
#: Column names that hold opening hours (matched as every reader matches headers).
HOURS_COLUMNS = OPENING_HOURS.aliases
#: Statuses of a facility in :func:`opening_hours_check`.
MEETS, BELOW, UNPARSEABLE, NO_DATA = "meets", "below", "unparseable", "no data"

_HOUR = 3600.0
_READING_TEXT = {
    "median_day": (
        "at least {h:g} h on a typical opening day (the median of the days it opens)",
        "典型开放日(各开放日时长的中位数)不少于{h:g}小时",
    ),
    "every_day": ("at least {h:g} h on every day it opens", "每个开放日均不少于{h:g}小时"),
}
_WIKI = "https://wiki.openstreetmap.org/wiki/Key:opening_hours"

# --- parsing one expression ---------------------------------------------------------------


def _syntax_message(exc: Exception) -> str:
    """The parser's error condensed to one line: where, and what it expected."""
    text = str(exc)
    where = re.search(r"-->\s*\d+:(\d+)", text)
    reason = re.search(r"=\s*(.+)$", text, flags=re.MULTILINE)
    at = f" at character {where.group(1)}" if where else ""
    why = reason.group(1).strip() if reason else ""
    why = f" ({why})" if why and len(why) <= 40 else ""
    return f"not OSM opening_hours syntax: error{at}{why}"


Span = tuple[datetime, datetime]


def _library() -> Any:
    """The ``opening_hours`` module (package opening-hours-py), with an install hint."""
    try:
        import opening_hours
    except ImportError:
        msg = (
            "reading opening hours needs the opening-hours-py package: pip install opening-hours-py"
        )
        raise ImportError(msg) from None
    return opening_hours


def _runs(oh: Any, monday: datetime) -> tuple[list[Span], list[Span], list[str]]:
    """Maximal open runs and unknown intervals around the week, and its comments."""
    state_open, state_unknown = _library().State.OPEN, _library().State.UNKNOWN
    opened: list[Span] = []
    unknown: list[Span] = []
    comments: list[str] = []
    sunday_end = monday + timedelta(days=7)
    for a, b, state, comment in oh.intervals(monday - timedelta(days=2), monday + timedelta(9)):
        if state == state_open:
            if opened and opened[-1][1] == a:  # a change of comment only: one run
                opened[-1] = (opened[-1][0], b)
            else:
                opened.append((a, b))
        elif state == state_unknown:
            unknown.append((a, b))
        if comment and comment not in comments and a < sunday_end and b > monday:
            comments.append(comment)
    return opened, unknown, comments


def _split_days(a: datetime, b: datetime, monday: datetime) -> np.ndarray:
    """Hours of [a, b) on each calendar day of the week starting at ``monday``."""
    out = np.zeros(7)
    for i in range(7):
        d0 = monday + timedelta(days=i)
        lo, hi = max(a, d0), min(b, d0 + timedelta(days=1))
        if hi > lo:
            out[i] += (hi - lo).total_seconds() / _HOUR
    return out


def _week(oh: Any, monday: datetime) -> tuple[np.ndarray, float, str]:
    """Open hours per day (Mo..Su), unknown hours and the comments in the week."""
    opened, unknown, comments = _runs(oh, monday)
    hours = np.zeros(7)
    for a, b in opened:
        if b - a <= timedelta(days=1) and a.date() != (b - timedelta(microseconds=1)).date():
            # crosses midnight and lasts at most a day: all of it on the day it starts
            i = (a.date() - monday.date()).days
            if 0 <= i < 7:
                hours[i] += (b - a).total_seconds() / _HOUR
        else:
            hours += _split_days(a, b, monday)
    unknown_h = float(sum(_split_days(a, b, monday).sum() for a, b in unknown))
    return hours, unknown_h, "; ".join(comments)


# --- simple Chinese forms ----------------------------------------------------------------

_CN_DAY = {"一": "Mo", "二": "Tu", "三": "We", "四": "Th", "五": "Fr", "六": "Sa"}
_CN_DAY |= dict.fromkeys("日天七", "Su")
_CN_WORDS = (
    (r"(?:全天候|全天|全日|24\s*小时|24\s*h)(?:开放|营业|服务|办公)?", " 00:00-24:00 "),
    (r"全年无休|每天|每日|天天|全周", " Mo-Su "),
    (r"工作日", " Mo-Fr "),
    (r"周末|双休日", " Sa,Su "),
    (r"(?:星期|礼拜|周)([一二三四五六日天七])", None),
    (r"(?:休息|闭馆|休馆|闭店|停业|关闭|不开放|休)", " off "),
    (r"(?:开放|营业|服务|办公|开门)", " "),
)
_TIME = r"\d{1,2}:\d{2}"
_RANGE = rf"{_TIME}-{_TIME}"
_DAYS = r"(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?"
_DAY_LIST = rf"{_DAYS}(?:,{_DAYS})*"
_RULE = rf"(?:{_DAY_LIST} )?(?:{_RANGE}(?:,{_RANGE})*|off)|{_DAY_LIST}"
_CHINESE_OK = re.compile(rf"^(?:{_RULE})(?:; (?:{_RULE}))*$")


def _pm(match: re.Match[str]) -> str:
    """下午/晚上 2:00-5:30 -> 14:00-17:30; 晚上 8:00-12:00 -> 20:00-24:00."""
    h1, m1, h2, m2 = (int(match.group(i)) for i in (1, 2, 3, 4))
    h1 += 12 if h1 < 12 else 0
    h2 = h2 + 12 if h2 < 12 else (24 if h2 == 12 and h1 > 12 else h2)
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def _from_chinese(text: str) -> str | None:
    """OSM syntax for simple Chinese hours ("周一至周五 9:00-17:00"), or None."""
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"(\d{1,2})\s*[点时]\s*半", r"\1:30", s)
    s = re.sub(r"(\d{1,2})\s*[点时]\s*(\d{1,2})\s*分?", lambda m: f"{m[1]}:{int(m[2]):02d}", s)
    s = re.sub(r"(\d{1,2})\s*[点时]", r"\1:00", s)
    s = re.sub(r"\s*[~至到—–－-]+\s*", "-", s)
    s = re.sub(r"上午|早上", " ", s)
    s = re.sub(
        r"(?:下午|晚上)\s*(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})",
        lambda m: " " + _pm(m) + " ",
        s,
    )
    for pattern, repl in _CN_WORDS:
        if repl is None:
            s = re.sub(pattern, lambda m: f" {_CN_DAY[m.group(1)]} ", s)
        else:
            s = re.sub(pattern, repl, s)
    s = re.sub(r"\s*[、,]\s*", ",", s)
    s = re.sub(r"\s*[;]\s*", ";", s)
    s = re.sub(r"\s+", " ", s).strip(" ,;")
    s = re.sub(r"\s*-\s*", "-", s)
    # a time followed by days starts a new rule; two time ranges in a rule join with ","
    s = re.sub(rf"({_TIME}|off)[ ,;]+(?=Mo|Tu|We|Th|Fr|Sa|Su)", r"\1; ", s)
    s = re.sub(rf"({_TIME})[ ;](?={_TIME})", r"\1,", s)
    s = re.sub(r"([A-Z][a-z])-?(?=\d)", r"\1 ", s)
    s = re.sub(r";\s*", "; ", s)
    s = re.sub(r"([A-Za-z]) +off", r"\1 off", s)
    s = re.sub(r"(?<!\d)(\d):", r"0\1:", s)
    if s == "00:00-24:00":
        s = "24/7"
    elif not _CHINESE_OK.match(s):
        return None
    return s


def _has_cjk(text: str) -> bool:
    return re.search(r"[\u3000-\u9fff\uff00-\uffef]", text) is not None


def _parse(text: str) -> tuple[Any, str, str | None]:
    """(parsed expression or None, expression used, error message or None)."""
    opening_hours = _library().OpeningHours
    try:
        return opening_hours(text), text, None
    except Exception as exc:  # the binding raises opening_hours.ParserError (untyped)
        error = _syntax_message(exc)
    if _has_cjk(text):
        osm = _from_chinese(text)
        if osm is not None:
            try:
                return opening_hours(osm), osm, None
            except Exception:  # the rewrite is not valid either: report the original
                osm = None
        msg = (
            f"Chinese hours {text!r} are not OSM opening_hours syntax and are not a simple "
            "'周一至周五 9:00-17:00' form planner reads; write them like "
            "'Mo-Fr 09:00-17:00; Sa 09:00-12:00'"
        )
        return None, text, msg
    return None, text, f"{error}; see {_WIKI}"


# --- public ------------------------------------------------------------------------------


def hours_per_day(values: Iterable[Any], *, week: date = REFERENCE_WEEK) -> pd.DataFrame:
    """Hours open on each day of a reference week, from OSM ``opening_hours`` strings.

    Parameters
    ----------
    values
        Opening-hours strings (a Series keeps its index), e.g. ``"24/7"``,
        ``"Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00"``, ``"Mo-Su 09:00-21:00; PH
        off"``, or simple Chinese forms (``"周一至周五 9:00-17:00"``). Missing or blank
        values are no data (NaN hours, no error).
    week
        A day of the week to evaluate (its Monday is used); default
        :data:`REFERENCE_WEEK`, 11-17 March 2024, a week with no public holiday.

    Returns
    -------
    pandas.DataFrame
        One row per value (same index for a Series), columns ``Mo`` .. ``Su`` (hours
        open, float; an opening past midnight counts on the day it starts),
        ``open_days`` (days with any opening), ``week_h`` (total), ``min_h``,
        ``median_h`` and ``mean_h`` (minimum, median and mean over the days it opens;
        NaN when it never opens),
        ``unknown_h`` (hours in state "unknown"), ``comment`` (comments in the
        expression, e.g. "by appointment"), ``parsed_as`` (the expression evaluated:
        the value itself, or the OSM form of a Chinese value) and ``parse_error`` (why
        the value could not be read; NA when it could).

    Examples
    --------
    >>> hours_per_day(["Mo-Fr 08:00-18:00", "24/7", "周一至周五 9:00-17:00", "Mo-Fr"])
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    text = series.astype("string").str.strip()
    codes, uniques = pd.factorize(text.where(text != ""), use_na_sentinel=True)
    monday = datetime.combine(week - timedelta(days=week.weekday()), datetime.min.time())
    parsed = _parse_each(uniques, monday)  # each distinct string once
    found = codes >= 0
    take = np.where(found, codes, 0)

    def pick(arr: np.ndarray) -> np.ndarray:
        if len(uniques) == 0:
            return np.full((len(codes), *arr.shape[1:]), np.nan if arr.dtype != object else None)
        out = arr[take]
        out[~found] = None if arr.dtype == object else np.nan
        return out

    h = pick(parsed["hours"])
    out = pd.concat(
        [pd.DataFrame(h, index=series.index, columns=list(DAYS)), _day_stats(h, series.index)],
        axis=1,
    )
    out["unknown_h"] = pick(parsed["unknown"])
    for col, key in (("comment", "comment"), ("parsed_as", "used"), ("parse_error", "error")):
        out[col] = pd.array(pick(parsed[key]), dtype="string")
    return out


def _parse_each(uniques: Any, monday: datetime) -> dict[str, np.ndarray]:
    """Hours per day, unknown hours, comment, expression used and error of each value."""
    n = len(uniques)
    out = {"hours": np.full((n, 7), np.nan), "unknown": np.full(n, np.nan)}
    out |= {k: np.full(n, None, dtype=object) for k in ("comment", "used", "error")}
    for i, value in enumerate(uniques):
        oh, out["used"][i], out["error"][i] = _parse(str(value))
        if oh is None:
            continue
        try:
            out["hours"][i], out["unknown"][i], out["comment"][i] = _week(oh, monday)
        except Exception as exc:  # an expression the evaluator cannot step through
            out["error"][i] = f"cannot evaluate the expression over a week ({exc}); see {_WIKI}"
    return out


def _day_stats(h: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """open_days, week_h and the min/median/mean hours of the days open (NaN: no data)."""
    open_day = h > 0
    none = np.isnan(h).all(axis=1)
    out = pd.DataFrame(index=index)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no data
        out["open_days"] = np.where(none, np.nan, open_day.sum(axis=1))
        out["week_h"] = np.where(none, np.nan, np.nansum(h, axis=1))
        opened = np.where(open_day, h, np.nan)
        out["min_h"] = np.nanmin(opened, axis=1)
        out["median_h"] = np.nanmedian(opened, axis=1)
        out["mean_h"] = np.nanmean(opened, axis=1)
    return out


def find_hours_column(df: pd.DataFrame, column: str | None = None, what: str = "facilities") -> str:
    """The column of opening hours: ``column`` (must exist) or one of :data:`HOURS_COLUMNS`.

    Headers are matched as every reader matches them (:func:`planner.sources.find_column`).
    """
    found = require_column(
        [c for c in df.columns if c != "geometry"],
        OPENING_HOURS,
        given=column,
        given_as="column",
        where=what,
    )
    return str(found)


def facility_keys(fac: pd.DataFrame) -> pd.Series:
    """One key per physical facility: OSM type and id, else name and location.

    OSM facilities come one row per matched category; these keys count each once.
    """
    geom = (
        pd.Series(fac.geometry.to_wkb(hex=True), index=fac.index).astype(str)
        if isinstance(fac, gpd.GeoDataFrame)
        else pd.Series(fac.index.astype(str), index=fac.index)
    )
    name = fac["name"].astype("string").fillna("") if "name" in fac.columns else ""
    key = name + "@" + geom
    if "osm_id" in fac.columns:
        osm = fac["osm_id"].astype("string")
        kind = fac["osm_type"].astype("string").fillna("") if "osm_type" in fac.columns else ""
        key = key.where(osm.isna(), "osm:" + kind + "/" + osm)
    return key.astype(str)


def _community_of(fac: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> pd.Series:
    """Name of the community whose polygon holds each facility point (NA outside all)."""
    com = communities
    if "community" not in com.columns:
        from .sources.blocks import standardise_communities

        com = standardise_communities(com)
    if fac.crs is None or com.crs is None:
        msg = (
            "opening_hours_check: facilities and communities need a CRS to be joined; set it "
            "with gdf.set_crs(...)."
        )
        raise InputError(msg)
    pts = gpd.GeoDataFrame(
        {"_pos": np.arange(len(fac))},
        geometry=fac.geometry.representative_point().to_crs(com.crs).values,
        crs=com.crs,
    )
    right = gpd.GeoDataFrame(
        {"_com": com["community"].astype(str).to_numpy()}, geometry=com.geometry.values, crs=com.crs
    )
    hit = gpd.sjoin(pts, right, predicate="within", how="inner")
    hit = hit[~hit["_pos"].duplicated()]  # on a shared border: the first community
    out = pd.Series(pd.NA, index=fac.index, dtype="string")
    out.iloc[hit["_pos"].to_numpy()] = hit["_com"].to_numpy()
    return out


def _day_list(mask: np.ndarray) -> np.ndarray:
    """ "Sa, Su" per row from a (rows x 7) boolean mask."""
    text = np.full(mask.shape[0], "", dtype=object)
    for j, day in enumerate(DAYS):
        add = mask[:, j]
        sep = np.where(text[add] == "", "", ", ")
        text[add] = text[add] + sep + day
    return text


def describe_reading(reading: str, minimum_h: float = 8.0, lang: str = "en") -> str:
    """The opening-hours reading in words, e.g. "at least 8 h on every day it opens".

    Parameters
    ----------
    reading
        {"median_day", "every_day"}.
    minimum_h
        The hours asked for.
    lang
        {"en", "zh"}.
    """
    en, zh = _READING_TEXT[_reading(reading)]
    return (zh if lang == "zh" else en).format(h=minimum_h)


def _reading(reading: str) -> str:
    if reading not in HOURS_READINGS:
        msg = (
            f"opening hours: reading must be one of {', '.join(HOURS_READINGS)}; got "
            f"{reading!r}.{closest(str(reading), HOURS_READINGS)}"
        )
        raise InputError(msg)
    return reading


def opening_hours_check(
    facilities: pd.DataFrame,
    *,
    minimum_h: float = 8.0,
    column: str | None = None,
    communities: gpd.GeoDataFrame | None = None,
    category: str = "category",
    week: date = REFERENCE_WEEK,
    reading: str = "median_day",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Facilities open fewer than ``minimum_h`` hours a day, per category and community.

    "Open generally no less than 8 hours a day" (一般不少于每天8小时, 三(五)1) is read by
    default on a **typical opening day**: the median of the hours of the days the
    facility opens reaches ``minimum_h`` [I]. ``reading="every_day"`` is the strict
    reading: **every day it opens** reaches it. Days it is closed are listed
    (``days_closed``) but do not fail it; a facility closed all week fails.

    Parameters
    ----------
    facilities
        Facility rows (``planner.load_facilities`` keeps OSM ``opening_hours``;
        ``planner.read_facilities`` keeps a file's own columns).
    minimum_h
        Hours a facility must open a day (the plan: 8).
    column
        The column of opening hours; by default the first of ``opening_hours``,
        ``营业时间``, ``开放时间``, ``服务时间``, ``办公时间``, ``hours``.
    communities
        Community polygons: each facility gets the community its point lies in, and the
        summary gets one row per community.
    category
        The column of category ids (summarised per category when present).
    week
        The week evaluated (see :func:`hours_per_day`).
    reading
        {"median_day", "every_day"}: how "N hours a day" is read (see above).

    Returns
    -------
    per_facility : pandas.DataFrame
        Indexed like ``facilities``: ``category``, ``name`` and ``community`` (when
        known), ``hours`` (the text), ``Mo`` .. ``Su``, ``open_days``, ``min_h``,
        ``median_h``, ``days_below`` and ``days_closed`` (e.g. "Sa, Su"), ``status``
        ({"meets", "below", "unparseable", "no data"}) and ``detail`` (the parser's
        message, comments, the OSM form of Chinese text). ``attrs`` hold ``column``,
        ``minimum_h``, ``week``, ``reading`` and ``reading_text`` (the reading in words).
    summary : pandas.DataFrame
        Indexed by (``by``, ``name``) with ``by`` in {"all", "category", "community"}:
        ``facilities``, ``with_hours`` (readable hours), ``meeting``, ``below``,
        ``unparseable``, ``no_data`` and ``share_meeting`` (meeting / with_hours).
        The "all" and community rows count each physical facility once (OSM
        facilities repeat per category). ``attrs`` as for ``per_facility``.

    Raises
    ------
    planner.errors.MissingColumnError
        When no opening-hours column is found (or ``column`` is not a column).
    """
    if minimum_h <= 0 or not np.isfinite(minimum_h):
        msg = f"opening_hours_check: minimum_h must be a positive number of hours; got {minimum_h}."
        raise InputError(msg)
    _reading(reading)
    col = find_hours_column(facilities, column)
    hours = hours_per_day(facilities[col], week=week)
    text = facilities[col].astype("string").str.strip()
    out = _facility_columns(facilities, communities, category)
    out = pd.concat([out, _hours_columns(hours, text, minimum_h, reading)], axis=1)
    out.attrs.update(
        column=col,
        minimum_h=minimum_h,
        week=str(week),
        reading=reading,
        reading_text=describe_reading(reading, minimum_h),
    )
    summary = _summary(out, facility_keys(facilities))
    summary.attrs.update(out.attrs)
    return out, summary


def _facility_columns(
    facilities: pd.DataFrame, communities: gpd.GeoDataFrame | None, category: str
) -> pd.DataFrame:
    """Category, name and community of each facility (those that are known)."""
    out = pd.DataFrame(index=facilities.index)
    if category in facilities.columns:
        out["category"] = facilities[category].to_numpy()
    if "name" in facilities.columns:
        out["name"] = facilities["name"].to_numpy()
    if communities is not None:
        if not isinstance(facilities, gpd.GeoDataFrame):
            msg = "opening_hours_check: communities= needs facilities as a GeoDataFrame."
            raise InputError(msg)
        out["community"] = _community_of(facilities, communities)
    return out


def _hours_columns(
    hours: pd.DataFrame, text: pd.Series, minimum_h: float, reading: str
) -> pd.DataFrame:
    """Hours per day, the status under ``reading`` and a detail per facility."""
    h = hours[list(DAYS)].to_numpy(dtype=float)
    has_text = (text.notna() & (text != "")).to_numpy(dtype=bool)
    error = hours["parse_error"].notna().to_numpy(dtype=bool)
    open_days = hours["open_days"].to_numpy(dtype=float)
    unknown_only = (open_days == 0) & (hours["unknown_h"].to_numpy(dtype=float) > 0)
    read = has_text & ~error & ~unknown_only
    low = (h > 0) & (h < minimum_h - 1e-9)
    if reading == "every_day":
        short = low.any(axis=1)
    else:
        with np.errstate(invalid="ignore"):
            short = hours["median_h"].to_numpy(dtype=float) < minimum_h - 1e-9
    below = read & ((open_days == 0) | short)
    out = pd.DataFrame({"hours": text}, index=hours.index)
    for day in (*DAYS, "open_days", "min_h", "median_h"):
        out[day] = hours[day]
    out["days_below"] = np.where(read, _day_list(low), "")
    out["days_closed"] = np.where(read, _day_list(h == 0), "")
    out["status"] = np.select(
        [~has_text | unknown_only, error, below], [NO_DATA, UNPARSEABLE, BELOW], default=MEETS
    )
    out["detail"] = _details(hours, text, read & (open_days == 0), unknown_only, error)
    return out


def _details(
    hours: pd.DataFrame,
    text: pd.Series,
    closed: np.ndarray,
    unknown_only: np.ndarray,
    error: np.ndarray,
) -> np.ndarray:
    """Why a value reads as it does: the parser's message, the OSM form, comments."""
    detail = hours["parse_error"].fillna("").astype(str).to_numpy(dtype=object)
    chinese = (hours["parsed_as"] != text).fillna(False).to_numpy(dtype=bool) & ~error
    detail[chinese] = "read as " + hours["parsed_as"].astype(str).to_numpy(dtype=object)[chinese]
    detail[closed] = "closed all week"
    detail[unknown_only] = "opening state 'unknown' all week"
    note = hours["comment"].fillna("").astype(str).to_numpy(dtype=object)
    has_note = note != ""
    detail[has_note] = np.where(
        detail[has_note] == "", "comment: " + note[has_note], detail[has_note]
    )
    return detail


def _summary(per: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    statuses = [MEETS, BELOW, UNPARSEABLE, NO_DATA]
    names = {MEETS: "meeting", BELOW: "below", UNPARSEABLE: "unparseable", NO_DATA: "no_data"}
    parts: list[pd.DataFrame] = []

    def count(frame: pd.DataFrame, by: str, column: str | None) -> pd.DataFrame:
        group = np.full(len(frame), "all", dtype=object)
        if column is not None:
            group = frame[column].astype(str).to_numpy(dtype=object)
        status = frame["status"].to_numpy(dtype=object)
        table = pd.crosstab(pd.Series(group, name="_g"), pd.Series(status, name="status"))
        table = table.reindex(columns=statuses, fill_value=0)
        if by == "all":
            table = table.reindex(["all"], fill_value=0)
        table = table.rename(columns=names)
        table.index = pd.MultiIndex.from_arrays(
            [np.full(len(table), by, dtype=object), table.index.astype(str)], names=["by", "name"]
        )
        return table

    unique = per[~keys.duplicated().to_numpy()]
    parts.append(count(unique, "all", None))
    if "category" in per.columns and per["category"].notna().any():
        parts.append(count(per[per["category"].notna().to_numpy()], "category", "category"))
    if "community" in per.columns and unique["community"].notna().any():
        parts.append(
            count(unique[unique["community"].notna().to_numpy()], "community", "community")
        )
    table = pd.concat(parts)
    table.columns.name = None
    table.insert(0, "facilities", table.sum(axis=1))
    table.insert(1, "with_hours", table["meeting"] + table["below"])
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share_meeting"] = (table["meeting"] / table["with_hours"]).where(
            table["with_hours"] > 0
        )
    return table.astype({c: "int64" for c in table.columns if c != "share_meeting"})
