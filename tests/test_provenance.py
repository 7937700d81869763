"""Provenance of guangdong_2016: every clause names a part of the plan, every quote is the
plan's words, verbatim, in the part the clause names.

The plan's full text is ../shared/seed/guangdong_community_services_plan_2016-2020.txt.
Its numbering: parts 一、..四、, sections (一)..(六) in each part, items 1. 2. ... in a
section, boxes 专栏1..4 with items 1. 2. 3. A clause is written as the plan numbers it:
``二(三)``, ``三(五)1``, ``专栏3 第1项``; several are joined with "; ".
"""

from __future__ import annotations

import re

import pytest
from conftest import SHARED
from helpers import unavailable

from planner.rules import load_preset

PLAN = SHARED.parent / "seed" / "guangdong_community_services_plan_2016-2020.txt"
_NUM = "一二三四五六七八九十"


@pytest.fixture(scope="module")
def plan_text():
    if not PLAN.exists():
        unavailable(f"the plan's text is not present: {PLAN}")
    return PLAN.read_text(encoding="utf-8")


def sections(text):
    """Clause -> its text: every line filed under each numbering level it belongs to."""
    out: dict[str, list[str]] = {}
    top = sec = item = box = box_item = None
    for line in text.splitlines():
        s = line.strip()
        if m := re.match(rf"^([{_NUM}]+)、", s):
            top, sec, item, box, box_item = m[1], None, None, None, None
        elif m := re.match(rf"^\(([{_NUM}]+)\)", s):
            sec, item, box, box_item = m[1], None, None, None
        elif m := re.match(r"^专栏(\d+)", s):
            box, box_item = m[1], None
        elif m := re.match(r"^(\d+)\.", s):
            if box:
                box_item = m[1]
            else:
                item = m[1]
        keys = []
        if top:
            keys.append(top)
            if sec and not box:
                keys.append(f"{top}({sec})")
                if item:
                    keys.append(f"{top}({sec}){item}")
        if box:
            keys.append(f"专栏{box}")
            if box_item:
                keys.append(f"专栏{box} 第{box_item}项")
        for k in keys:
            out.setdefault(k, []).append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def items():
    pre = load_preset("guangdong_2016")
    return [*pre.circles.values(), *pre.targets.values()]


def test_the_section_reader(plan_text):
    parts = sections(plan_text)
    assert "力争到2020年,全省城市社区综合服务设施全覆盖" in parts["二(三)"]
    assert "开放时间一般不少于每天8小时" in parts["三(五)1"]
    assert "开放时间一般不少于每天8小时" not in parts["三(五)2"]
    assert "2018年全省基本实现社区(村)综合性文化服务中心全覆盖" in parts["专栏1 第3项"]
    assert "“儿童之家”覆盖90%以上的城乡社区" in parts["三(二)2"]
    assert "“儿童之家”" not in parts["专栏1"]


def test_every_item_has_a_clause_and_every_v_item_a_quote():
    for x in items():
        assert x.clause, f"{x.id}: no clause"
        if x.label == "V":
            assert x.quote, f"{x.id}: labelled V without the plan's words"


def test_every_quote_stands_verbatim_in_the_clause_it_names(plan_text):
    parts = sections(plan_text)
    checked = 0
    for x in items():
        clauses = x.clause.split("; ")
        for clause in clauses:
            assert clause in parts, f"{x.id}: the plan has no clause {clause!r}"
        for quote in x.quote:
            assert quote in plan_text, f"{x.id}: not in the plan's text: {quote!r}"
            assert any(quote in parts[c] for c in clauses), f"{x.id}: {quote!r} not in {clauses}"
            checked += 1
    # every V item carries at least one quote (the test above), so at least as many were
    # checked here: the loop above did run over them
    assert checked >= sum(x.label == "V" for x in items()) > 0


def test_the_check_catches_a_wrong_clause_and_a_paraphrase(plan_text):
    parts = sections(plan_text)
    # the culture circles used to be filed under 三: they are goals of 二(三)
    assert "形成城市10分钟文化圈" not in parts["三"]
    assert "城市社区综合服务设施全覆盖" in plan_text
    assert "城市社区综合服务设施实现全覆盖" not in plan_text  # an earlier paraphrase


def test_values_from_other_documents_name_them():
    """Radii and modes come from GB 50180-2018 and others, never from the plan."""
    for c in load_preset("guangdong_2016").circles.values():
        assert c.radius_source, c.id
        if c.radius_label in {"V", "S"}:
            assert "GB 50180-2018" in c.radius_source, c.id
        assert "规划" not in c.radius_source
        if c.mode_label == "S":
            assert "not the plan" in c.source, c.id


def test_targets_carry_due_years():
    pre = load_preset("guangdong_2016")
    assert (pre.start_year, pre.end_year) == (2016, 2020)
    due = {t.id: t.due_year for t in pre.targets.values()}
    assert due["culture_service_center_coverage"] == 2018
    assert set(due.values()) == {2018, 2020}
    # a user target without a due year takes the plan's end year
    extra = {"target": [{"id": "x", "kind": "presence", "categories": ["park"], "label": "I"}]}
    assert load_preset(extra=extra).targets["x"].due_year == 2020
