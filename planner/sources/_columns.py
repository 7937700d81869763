"""Which column of a planner's table holds what: one header resolver for every reader.

Planners' files name the same thing many ways: ``常住人口``, ``常住人口（人）``,
``Population``, ``POP``, ``户 数``. Every reader of the sources package (and any module
that looks for a column by name) asks :func:`find_column` or :func:`require_column`, so a
header one reader accepts, every reader accepts.

Matching is on :func:`normalise`\\ d headers: Unicode NFKC (full-width letters, digits
and brackets become half-width, ``㎡`` becomes ``m2``), case folded, and without spaces,
punctuation or brackets. A header that matches no alias as a whole may still match once
a bracketed note is removed: ``人口（人）`` and ``户数[户]`` are found as ``人口`` and
``户数``.

The aliases of each kind of column are the :class:`Field` constants below; their order
decides between two headers that both match (``常住人口`` before ``人口``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InputError, MissingColumnError, describe

__all__ = [
    "CODE",
    "COMMUNITY",
    "COMMUNITY_COUNTS",
    "COMMUNITY_NAME",
    "HOUSEHOLDS",
    "NAME",
    "OPENING_HOURS",
    "POPULATION",
    "REGION",
    "SETTING",
    "STREET",
    "TYPE",
    "Field",
    "find_column",
    "missing_column",
    "named_column",
    "normalise",
    "require_column",
]

#: How similar (difflib ratio of normalised headers) a header must be to be suggested.
SUGGEST_CUTOFF = 0.5
# Bracketed notes: units and remarks such as "（人）", "[户]", "【2023】".
_NOTE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|\{[^{}]*\}")


@dataclass(frozen=True)
class Field:
    """A kind of column and the headers that name it, most specific first.

    Parameters
    ----------
    what
        Words for messages: "population", "community names".
    aliases
        Headers that hold it, compared after :func:`normalise`.
    """

    what: str
    aliases: tuple[str, ...]

    def __add__(self, other: Field) -> Field:
        """This field's aliases followed by another's (kept in order, once each)."""
        return Field(self.what, tuple(dict.fromkeys((*self.aliases, *other.aliases))))


POPULATION = Field(
    "population",
    (
        "population",
        "pop",
        "常住人口",
        "常住人口数",
        "人口",
        "人口数",
        "居住人口",
        "总人口",
        "户籍人口",
    ),
)
HOUSEHOLDS = Field("households", ("households", "hh", "户数", "常住户数", "住户数", "总户数", "户"))
NAME = Field(
    "names",
    ("name", "名称", "title", "poi_name", "设施名称", "小区名称", "小区", "地块名称", "地块编号"),
)
COMMUNITY = Field(
    "the community",
    (
        "community",
        "社区名称",
        "社区(村)名称",
        "社区(村)",
        "村(社区)",
        "社区",
        "所属社区",
        "村名称",
        "村",
        "村委会",
        "居委会",
    ),
)
#: The column naming the communities of a community file or table (boundaries, bureau
#: sheets): a community column, else a plain name column.
COMMUNITY_NAME = Field("community names", ()) + COMMUNITY + NAME + Field("", ("qh",))
CODE = Field(
    "community codes",
    (
        "code",
        "community_code",
        "社区代码",
        "社区编码",
        "社区(村)代码",
        "区划代码",
        "行政区划代码",
        "统计用区划代码",
        "代码",
        "编码",
    ),
)
STREET = Field(
    "the street/township",
    ("street", "街道", "乡镇", "镇街", "街道乡镇", "街镇", "所属街道", "township"),
)
SETTING = Field("urban/rural setting", ("setting", "城乡", "城乡属性", "urban_rural", "类型"))
REGION = Field("region class", ("region", "区域", "片区", "地区"))
#: An Amap-style type text column ("科教文化服务;学校;小学"), read beside the typecodes.
TYPE = Field("facility types", ("type", "类型", "poi_type"))
OPENING_HOURS = Field(
    "opening hours", ("opening_hours", "营业时间", "开放时间", "服务时间", "办公时间", "hours")
)

# Counts, areas and years per community (bureau tables, community boundaries).
SOCIAL_ORGANISATIONS = Field(
    "social_organisations",
    (
        "social_organisations",
        "社会组织数",
        "社区社会组织数",
        "社区社会组织数量",
        "社区社会组织",
        "社会组织",
    ),
)
SOCIAL_WORKERS = Field(
    "social_workers",
    (
        "social_workers",
        "社工人数",
        "社会工作者人数",
        "持证社工人数",
        "社会工作人才",
        "登记在册社会工作人才",
        "社会工作者",
        "社工",
    ),
)
VOLUNTEERS = Field(
    "volunteers", ("volunteers", "注册志愿者", "注册志愿者人数", "注册志愿者数", "志愿者人数")
)
SPORTS_INSTRUCTORS = Field(
    "sports_instructors",
    (
        "sports_instructors",
        "社会体育指导员",
        "社会体育指导员人数",
        "社会体育指导员数",
        "体育指导员",
    ),
)
SERVICE_FLOOR_AREA = Field(
    "service_floor_area_m2",
    (
        "service_floor_area_m2",
        "社区服务用房面积",
        "服务用房面积",
        "社区公共服务用房面积",
        "社区服务设施面积",
        "综合服务设施面积",
    ),
)
DIRECTOR_TRAINED_YEAR = Field(
    "director_trained_year",
    (
        "director_trained_year",
        "主任培训年份",
        "主任最近培训年份",
        "主任培训时间",
        "主任最近培训时间",
    ),
)
MEMBERS_TRAINED_YEAR = Field(
    "members_trained_year",
    (
        "members_trained_year",
        "成员培训年份",
        "成员最近培训年份",
        "成员培训时间",
        "委员培训年份",
        "其他成员培训年份",
    ),
)
SECRETARY_TRAINED_YEAR = Field(
    "secretary_trained_year",
    (
        "secretary_trained_year",
        "书记培训年份",
        "书记最近培训年份",
        "书记培训时间",
        "党组织书记培训年份",
    ),
)
#: Legal advisers per community (一村(社区)一法律顾问): a count, or 是/否.
LEGAL_ADVISERS = Field(
    "legal_advisers",
    ("legal_advisers", "法律顾问", "法律顾问人数", "法律顾问数", "驻社区法律顾问", "驻村法律顾问"),
)
#: A street's 一门式一网式 government service in use: 1/0 or 是/否.
ONE_DOOR_SERVICE = Field(
    "one_door_service",
    ("one_door_service", "一门式一网式", "一门式", "一门式一网式政府服务", "一门式政务服务"),
)
#: planner's number columns per community -> the field that finds each (all read with
#: the one number parser: "1,980", "1.2万", "30人", "600㎡").
COMMUNITY_COUNTS: dict[str, Field] = {
    "social_organisations": SOCIAL_ORGANISATIONS,
    "social_workers": SOCIAL_WORKERS,
    "volunteers": VOLUNTEERS,
    "sports_instructors": SPORTS_INSTRUCTORS,
    "population": POPULATION,
    "households": HOUSEHOLDS,
    "service_floor_area_m2": SERVICE_FLOOR_AREA,
}


def normalise(header: object) -> str:
    """A header reduced for matching: NFKC, case folded, no spaces, punctuation or brackets.

    >>> normalise("常住人口（人）"), normalise(" Opening-Hours "), normalise("ＰＯＰ")
    ('常住人口人', 'openinghours', 'pop')
    """
    text = unicodedata.normalize("NFKC", str(header)).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def _without_notes(header: object) -> str:
    """The normalised header without its bracketed notes ("人口（人）" -> "人口")."""
    text = unicodedata.normalize("NFKC", str(header))
    return normalise(_NOTE.sub("", text))


def _labels(columns: Iterable[Any], skip: Iterable[Any]) -> list[Any]:
    """The column labels worth matching: not geometry, not skipped."""
    skipped = {str(s) for s in skip}
    return [c for c in columns if str(c) != "geometry" and str(c) not in skipped]


def _closest(wanted: Iterable[str], labels: list[Any]) -> Any | None:
    """The label most like any of ``wanted`` (after normalising), if alike enough."""
    best, best_ratio = None, SUGGEST_CUTOFF
    for want in (normalise(w) for w in wanted):
        for label in labels:
            ratio = difflib.SequenceMatcher(None, want, normalise(label)).ratio()
            if ratio >= best_ratio and (best is None or ratio > best_ratio):
                best, best_ratio = label, ratio
    return best


def missing_column(
    where: str,
    columns: Iterable[Any],
    field: Field,
    *,
    given: str | None = None,
    given_as: str | None = None,
    skip: Iterable[Any] = (),
) -> MissingColumnError:
    """The error for a column that is not there: what was wanted, what is present, the
    closest present header, and how to name the right one.

    Parameters
    ----------
    where
        The file or table, for the start of the message ("blocks file 'x.gpkg'").
    columns
        The columns present.
    field
        What the column holds (its ``what`` and, when nothing was given, its aliases).
    given
        The header the caller named, if any.
    given_as
        The argument that names it ("population"), for the fix.
    skip
        Columns not to list (provenance columns a reader added).
    """
    labels = _labels(columns, skip)
    near = _closest([given] if given is not None else field.aliases, labels)
    hint = f" Did you mean {near!r}?" if near is not None else ""
    present = f"columns present: {describe(labels, limit=30) or 'none'}"
    if given is not None:
        arg = f" (given as {given_as}=)" if given_as else ""
        msg = f"{where}: no column {given!r} for {field.what}{arg}; {present}.{hint}"
    else:
        fix = f" Pass {given_as}='<column>'." if given_as else ""
        msg = (
            f"{where}: no column for {field.what} (looked for {describe(field.aliases, limit=8)});"
            f" {present}.{hint}{fix}"
        )
    return MissingColumnError(msg)


def named_column(columns: Iterable[Any], given: str, where: str = "table") -> Any | None:
    """The column named ``given``: itself, else the one label equal after normalising.

    Returns None when there is none (unlike :func:`find_column`, which raises).
    """
    labels = _labels(columns, ())
    if any(str(label) == given for label in labels):
        return next(label for label in labels if str(label) == given)
    key = normalise(given)
    same = [label for label in labels if normalise(label) == key]
    if len(same) > 1:
        msg = (
            f"{where}: {describe(same)} all read as {given!r} (headers are compared without "
            "case, width, spaces or punctuation); rename one of them."
        )
        raise InputError(msg)
    return same[0] if same else None


def find_column(
    columns: Iterable[Any],
    field: Field,
    *,
    given: str | None = None,
    given_as: str | None = None,
    where: str = "table",
    skip: Iterable[Any] = (),
) -> Any | None:
    """The column holding ``field``: the one named by ``given``, else the first alias found.

    Parameters
    ----------
    columns
        The column labels (a DataFrame's ``columns``); ``geometry`` is never a match.
    field
        What is looked for (its aliases, in order of preference).
    given
        A header the user named: it must exist (compared exactly, else after
        :func:`normalise`), or MissingColumnError is raised.
    given_as
        The argument that named it, for messages ("population").
    where
        The file or table, for messages.
    skip
        Columns that may not be the answer (already taken by another field).

    Returns
    -------
    str or None
        The column's label as it is in ``columns``; None when ``given`` is None and no
        alias matches.

    Raises
    ------
    planner.errors.MissingColumnError
        When ``given`` names no column (listing the columns and the closest one).
    planner.errors.InputError
        When ``given`` matches two headers that differ only in case, width or spacing.
    """
    labels = _labels(columns, skip)
    if given is not None:
        found = named_column(labels, str(given), where)
        if found is None:
            raise missing_column(where, labels, field, given=str(given), given_as=given_as)
        return found
    whole: dict[str, Any] = {}
    bare: dict[str, Any] = {}
    for label in reversed(labels):  # the first of equal headers wins
        whole[normalise(label)] = label
        bare[_without_notes(label)] = label
    for table in (whole, bare):
        for alias in field.aliases:
            key = normalise(alias)
            if key and key in table:
                return table[key]
    return None


def require_column(
    columns: Iterable[Any],
    field: Field,
    *,
    given: str | None = None,
    given_as: str | None = None,
    where: str = "table",
    skip: Iterable[Any] = (),
) -> Any:
    """Like :func:`find_column`, but a column that is not found is an error.

    Raises
    ------
    planner.errors.MissingColumnError
        Naming what was looked for, the columns present and the closest one.
    """
    labels = _labels(columns, skip)
    found = find_column(labels, field, given=given, given_as=given_as, where=where)
    if found is None:
        raise missing_column(where, labels, field, given_as=given_as)
    return found
