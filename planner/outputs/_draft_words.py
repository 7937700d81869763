"""The fixed words of the 一社区一规划 draft, in Chinese and English (see draft.py)."""

from __future__ import annotations

# (zh, en) of every fixed text
TEXT: dict[str, tuple[str, str]] = {
    "title": ("{name}一社区一规划（草案）", "{name}: one community, one plan (draft)"),
    "subtitle": ("社区生活圈评估与规划建议", "Service-circle assessment and proposals"),
    "s1": ("一、基本情况", "1. Basic facts"),
    "s2": ("二、现状评估", "2. Current provision"),
    "s3": ("三、主要问题", "3. Main problems"),
    "s4": ("四、规划项目", "4. Planned projects"),
    "s5": ("五、实施安排", "5. Implementation"),
    "notes": ("附：说明", "Notes"),
    "intro": (
        "{name}位于{street}，为{setting}，属{region}；常住人口{pop}人，{hh}户，"
        "面积{area}平方公里，共{blocks}个地块。",
        "{name} lies in {street}; setting {setting}, region {region}; {pop} residents, "
        "{hh} households, {area} km², {blocks} blocks.",
    ),
    "facts": ("基本信息", "Facts"),
    "item": ("项目", "Item"),
    "value": ("数值", "Value"),
    "name": ("社区名称", "Community"),
    "street": ("所属街道(乡镇)", "Street / township"),
    "setting": ("城乡类型", "Setting"),
    "region": ("所在区域", "Region"),
    "population": ("常住人口(人)", "Residents"),
    "households": ("户数(户)", "Households"),
    "area": ("面积(平方公里)", "Area (km²)"),
    "blocks": ("地块数(个)", "Blocks"),
    "facilities_here": ("现有设施", "Facilities in the community"),
    "category": ("设施类别", "Category"),
    "count": ("数量(处)", "Count"),
    "source": ("数据来源", "Source"),
    "examples": ("名称(举例)", "Names (examples)"),
    "no_facilities": (
        "社区范围内未找到各生活圈所需的设施。",
        "No facility of the circles' categories lies in the community.",
    ),
    "circles": ("（一）生活圈覆盖", "2.1 Service circles"),
    "circle": ("生活圈", "Circle"),
    "how": ("出行方式与时间", "Mode and threshold"),
    "share": ("人口覆盖率(路网)", "Population inside (network)"),
    "hh_share": ("户数覆盖率", "Households inside"),
    "radius_share": ("标准半径覆盖率(直线)", "Inside the radius (straight line)"),
    "pop_out": ("圈外人口(人)", "Population outside"),
    "blocks_out": ("圈外地块(个)", "Blocks outside"),
    "missing": ("缺少的设施", "Missing categories"),
    "clause": ("依据条款", "Clause"),
    "not_applicable": (
        "以下生活圈不适用于本社区的城乡类型：{items}。",
        "Not applicable to this community's setting: {items}.",
    ),
    "figure": (
        "图1  {name}{circle}现状与推荐站点示意（比例尺线段长{bar}米）",
        "Figure 1. {name}: {circle}, blocks, facilities and proposed sites (scale bar {bar} m)",
    ),
    "legend": (
        "图例：深绿—圈内且设施齐全；浅绿—圈内但缺部分设施；橙色至深红—圈外（缺少类数越多颜色越深）；"
        "灰色—不适用；彩色圆点—现有设施；金色星形—推荐站点；虚线—社区边界；灰线—道路。",
        "Legend: dark green inside with every category; light green inside, some missing; "
        "orange to dark red outside (darker: more missing); grey not applicable; dots "
        "existing facilities; gold stars proposed sites; dashed line the community "
        "boundary; grey lines streets.",
    ),
    "gaps_by_category": ("（二）缺少设施的地块", "2.2 Blocks missing categories"),
    "blocks_missing": ("缺少该类的地块(个)", "Blocks missing it"),
    "pop_missing": ("受影响人口(人)", "Residents affected"),
    "found": ("全域设施数(处)", "Facilities found (whole area)"),
    "none_missing": (
        "本社区各地块均能到达各生活圈所需的全部设施。",
        "Every block reaches every category of its circles.",
    ),
    "targets": ("（三）规划指标", "2.3 Plan targets"),
    "target": ("指标", "Target"),
    "unit": ("单元", "Unit"),
    "now": ("现状值", "Value"),
    "goal": ("目标值", "Target value"),
    "due": ("完成年限", "Due"),
    "status": ("评价", "Status"),
    "no_targets": ("没有针对本社区的指标结果。", "No target results for this community."),
    "problem": ("问题", "Problem"),
    "amount": ("量化", "How much"),
    "rank": ("序号", "No."),
    "no_problems": ("未发现需要解决的问题。", "No problem found."),
    "circle_gap": ("{circle}覆盖不足", "{circle}: residents outside"),
    "circle_amount": (
        "{pop}人（{share}）在圈外；缺少{cats}",
        "{pop} residents ({share}) outside; missing {cats}",
    ),
    "data_gaps": (
        "以下指标缺少数据，需补充后再评价：{items}。",
        "These targets lack data: {items}.",
    ),
    "hours_gap": (
        "{n}处设施每天开放不足{h}小时：{names}",
        "{n} facilities open less than {h} h a day: {names}",
    ),
    "stations": ("（一）新建服务站点", "4.1 New service stations"),
    "location": ("位置(经度，纬度)", "Location (lon, lat)"),
    "where": ("所在范围", "Area"),
    "bundle": ("配套服务", "Services to bundle"),
    "floor": ("建议建筑面积(平方米)", "Floor area (m²)"),
    "new_pop": ("新增覆盖人口(人)", "Residents newly covered"),
    "no_sites": (
        "选址结果中没有位于本社区附近的站点。",
        "No proposed site lies in or near this community.",
    ),
    "no_siting": (
        "未提供选址结果；完成新站点选址分析后可重新生成本草案。",
        "No siting results were given.",
    ),
    "after": (
        "建成后本社区{circle}人口覆盖率由{before}提高到{after}，新增覆盖{pop}人。",
        "With the stations, {circle} covers {after} of residents here (from {before}), {pop} more.",
    ),
    "floor_text": (
        "按每百户{per}平方米计{by_hh}；按新建住宅区标准{band}",
        "{by_hh} at {per} m² per 100 households; new-housing band {band}",
    ),
    "near": ("{name}内", "in {name}"),
    "near_block": ("{name}内，{block}附近", "in {name}, near {block}"),
    "nearby": ("{name}周边", "near {name}"),
    "upgrades": ("（二）现有设施提升", "4.2 Existing facilities to upgrade"),
    "facility": ("设施", "Facility"),
    "work": ("提升内容", "Work"),
    "no_upgrades": ("没有需要提升的现有设施。", "No existing facility needs upgrading."),
    "longer_hours": (
        "延长开放时间至每天不少于{h}小时（现为{now}小时）",
        "Open at least {h} h a day (now {now} h)",
    ),
    "more_floor": (
        "社区服务用房增加约{gap}平方米",
        "About {gap} m² more community service floor area",
    ),
    "additions": ("（三）补齐设施", "4.3 Facilities to add"),
    "requirement": ("要求", "Requirement"),
    "add_one": ("设置{what}", "Provide {what}"),
    "schedule": ("实施计划表", "Phasing"),
    "project": ("项目", "Project"),
    "content": ("内容", "Content"),
    "responsible": ("责任单位", "Responsible unit"),
    "funding": ("资金来源", "Funding"),
    "remark": ("备注", "Remarks"),
    "fill_in": (
        "责任单位、资金来源和备注由街道（乡镇）和社区研究后填写。",
        "The responsible unit, funding and remarks are for the street office and the "
        "community to fill in.",
    ),
    "station": ("新建服务站点{n}", "New station {n}"),
    "upgrade": ("设施提升", "Upgrade"),
    "addition": ("补齐设施", "Addition"),
    "task": ("指标任务", "Target"),
    "no_schedule": ("暂无需要安排的项目。", "Nothing to schedule."),
    "basis": ("规划依据：{preset}。", "Plan: {preset}."),
    "speeds": ("出行速度：{items}。", "Speeds: {items}."),
    "reading": ("指标评价年份：{year}年。", "Targets judged at year {year}."),
    "hours_rule": ("开放时间：{rule}。", "Opening hours: {rule}."),
    "labels_text": ("核实标记：{items}。", "Verification labels: {items}."),
    "confidence": (
        "以下类别在数据中未找到任何设施，其覆盖率为零反映的是数据缺失而非实际情况：{items}。",
        "No facility was found for these categories; their zero coverage reflects missing "
        "data: {items}.",
    ),
    "made": (
        "本草案由 planner {version} 于{time}根据所给数据生成，供街道（乡镇）和社区讨论修改。",
        "Drafted by planner {version} on {time} from the data given, for the street office "
        "and the community to discuss and edit.",
    ),
}

STATUS: dict[str, tuple[str, str]] = {
    "pass": ("达标", "pass"),
    "fail": ("未达标", "fail"),
    "input missing": ("缺少数据", "input missing"),
    "no units": ("无适用单元", "no units"),
}
SETTINGS: dict[str, tuple[str, str]] = {
    "urban": ("城市社区", "urban"),
    "rural": ("农村社区", "rural"),
}
REGIONS: dict[str, tuple[str, str]] = {
    "prd": ("珠三角地区", "Pearl River Delta"),
    "east": ("粤东地区", "eastern Guangdong"),
    "west": ("粤西地区", "western Guangdong"),
    "north": ("粤北地区", "northern Guangdong"),
}
CLASSES: dict[str, tuple[str, str]] = {
    "all": ("全部", "all"),
    "urban": ("城市社区", "urban communities"),
    "rural": ("农村社区", "rural communities"),
    "rural_prd": ("珠三角农村社区", "rural, Pearl River Delta"),
    "rural_other": ("粤东西北农村社区", "rural, east/west/north"),
    "rural_unknown": ("农村社区(区域不明)", "rural, region unknown"),
    "unknown": ("类型不明", "unknown"),
    "street": ("街道", "street"),
    "township": ("乡镇", "township"),
}
UNITS: dict[str, tuple[str, str]] = {
    "community": ("社区", "community"),
    "street": ("街道(乡镇)", "street/township"),
    "block": ("地块", "block"),
    "facility": ("设施", "facility"),
    "category": ("设施类别", "category"),
}
MODES: dict[str, tuple[str, str]] = {
    "walk": ("步行", "walk"),
    "walk_elderly": ("老年人步行", "elderly walk"),
    "walk_frail": ("体弱者步行", "frail walk"),
    "bicycle": ("骑自行车", "bicycle"),
    "ebike": ("骑电动自行车", "e-bike"),
    "drive": ("驾车", "drive"),
}
LABELS: dict[str, tuple[str, str]] = {
    "V": ("已核实", "verified"),
    "S": ("二手来源", "secondary source"),
    "R": ("凭记忆、待核实", "recalled, to verify"),
    "I": ("解释性判断", "interpretation"),
}
#: Gap units of the target evaluators in Chinese (used when ``gap_unit_zh`` is absent).
GAP_UNITS: dict[str, tuple[str, str]] = {
    "m2": ("平方米", "m²"),
    "facilities": ("处", "facilities"),
    "social workers": ("名社会工作人才", "social workers"),
    "organisations": ("个社会组织", "organisations"),
}
