"""read_layer and read_facilities: planners' own tables and spatial files.

Every test writes its input files into tmp_path, in the formats planners actually get
(GBK CSV from a Chinese Excel, Amap exports in GCJ-02, shapefiles without .cpg, ...).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from conftest import shared_file

from planner.errors import InputError, MissingColumnError, NoCrsError, PlannerWarning
from planner.rules import categories
from planner.sources.files import read_facilities, read_layer

NAMES = ["阳光幼儿园", "华润万家超市", "福田社区卫生服务站"]
# Three points in Shenzhen (Futian), as WGS-84 longitude/latitude
LON = [114.055, 114.061, 114.070]
LAT = [22.541, 22.545, 22.550]
GEOD = pyproj.Geod(ellps="WGS84")


def _points_table() -> pd.DataFrame:
    return pd.DataFrame({"名称": NAMES, "经度": LON, "纬度": LAT, "备注": ["甲", "乙", "丙"]})


def _shenzhen_square(cx: float, cy: float, side_m: float) -> shapely.Polygon:
    """A square of side_m metres (in UTM 50N) around a WGS-84 point, back in WGS-84."""
    to_utm = pyproj.Transformer.from_crs(4326, 32650, always_xy=True)
    x, y = to_utm.transform(cx, cy)
    h = side_m / 2
    square = shapely.box(x - h, y - h, x + h, y + h)
    back = pyproj.Transformer.from_crs(32650, 4326, always_xy=True)
    return shapely.transform(square, lambda xy: np.column_stack(back.transform(*xy.T)))


# --- text tables -------------------------------------------------------------------------


def test_gbk_csv_with_chinese_columns_round_trips(tmp_path):
    path = tmp_path / "设施.csv"
    _points_table().to_csv(path, index=False, encoding="gbk")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    gdf = read_layer(path)
    assert gdf.attrs["encoding"] == "gb18030"
    assert gdf["名称"].tolist() == NAMES
    assert gdf["备注"].tolist() == ["甲", "乙", "丙"]
    assert gdf.crs.to_epsg() == 4326
    assert np.allclose(gdf.geometry.x, LON) and np.allclose(gdf.geometry.y, LAT)
    assert gdf["source_file"].tolist() == ["设施.csv"] * 3
    assert gdf["source_row"].tolist() == [0, 1, 2]
    assert set(gdf["source_crs"]) == {"WGS-84"}
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # never modified

    fac = read_facilities(path, category_value="kindergarten")
    assert fac["name"].tolist() == NAMES  # 名称 is a name column
    assert fac["category"].tolist() == ["kindergarten"] * 3
    assert fac.attrs["encoding"] == "gb18030"


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.csv"
    pd.DataFrame({"name": NAMES, "lng": LON, "lat": LAT}).to_csv(
        path, index=False, encoding="utf-8-sig"
    )
    gdf = read_layer(path)
    assert gdf.attrs["encoding"] == "utf-8-sig"
    assert "name" in gdf.columns  # the BOM is not glued to the first column name
    assert gdf["name"].tolist() == NAMES


def test_plain_utf8(tmp_path):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"name": NAMES, "lng": LON, "lat": LAT}).to_csv(path, index=False)
    assert read_layer(path).attrs["encoding"] == "utf-8"


def test_tsv_and_semicolon_txt(tmp_path):
    table = pd.DataFrame(
        {
            "name": NAMES,
            "type": [
                "科教文化服务;学校;幼儿园",
                "购物服务;超级市场;超市",
                "医疗保健服务;综合医院;卫生院",
            ],
            "longitude": LON,
            "latitude": LAT,
        }
    )
    tsv = tmp_path / "pois.tsv"
    table.to_csv(tsv, sep="\t", index=False)
    gdf = read_layer(tsv)
    assert gdf["type"].tolist() == table["type"].tolist()  # semicolons inside values
    assert np.allclose(gdf.geometry.x, LON)

    txt = tmp_path / "pois.TXT"
    table.drop(columns="type").to_csv(txt, sep=";", index=False)
    gdf = read_layer(txt)
    assert gdf["name"].tolist() == NAMES
    assert np.allclose(gdf.geometry.y, LAT)


def test_codes_with_leading_zeros_stay_text(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text(
        "name,typecode,pop,lon,lat\n"
        f"a,060400,100,{LON[0]},{LAT[0]}\n"
        f"b,141204,250,{LON[1]},{LAT[1]}\n",
        encoding="utf-8",
    )
    gdf = read_layer(path)
    assert gdf["typecode"].tolist() == ["060400", "141204"]
    assert gdf["pop"].tolist() == [100, 250]
    assert pd.api.types.is_numeric_dtype(gdf["pop"])


def test_xlsx_with_two_sheets(tmp_path):
    path = tmp_path / "facilities.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"名称": ["甲"], "lon": [LON[0]], "lat": [LAT[0]]}).to_excel(
            writer, sheet_name="第一批", index=False
        )
        _points_table().to_excel(writer, sheet_name="第二批", index=False)
    first = read_layer(path)
    assert first["名称"].tolist() == ["甲"]
    assert first.attrs["sheet"] == "第一批"
    second = read_layer(path, sheet="第二批")
    assert second["名称"].tolist() == NAMES
    assert read_layer(path, sheet=1)["名称"].tolist() == NAMES
    with pytest.raises(InputError, match=r"no sheet '第三批'.*'第一批', '第二批'"):
        read_layer(path, sheet="第三批")


# --- spatial files -----------------------------------------------------------------------


def test_geojson_polygons_become_points_with_area(tmp_path):
    square = _shenzhen_square(LON[0], LAT[0], 100.0)
    gdf = gpd.GeoDataFrame(
        {"name": ["公园", "站点"], "kind": ["park", "community_service_station"]},
        geometry=[square, shapely.Point(LON[1], LAT[1])],
        crs=4326,
    )
    path = tmp_path / "places.geojson"
    gdf.to_file(path, driver="GeoJSON")
    fac = read_facilities(path, category="kind")
    assert fac["category"].tolist() == ["park", "community_service_station"]
    assert (fac.geometry.geom_type == "Point").all()
    assert fac.geometry.iloc[0].within(square)
    assert fac["point_from"].tolist() == ["representative_point", "point"]
    assert fac["area_m2"].iloc[0] == pytest.approx(10_000.0, rel=1e-3)
    assert np.isnan(fac["area_m2"].iloc[1])
    assert fac["kind"].tolist() == ["park", "community_service_station"]  # own column kept
    assert fac["source_crs"].tolist() == ["WGS-84", "WGS-84"]
    assert list(fac.columns[:7]) == [
        "category",
        "name",
        "area_m2",
        "point_from",
        "source_file",
        "source_row",
        "source_crs",
    ]


def test_gpkg_layers(tmp_path):
    path = tmp_path / "data.gpkg"
    pts = gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(LON, LAT), crs=4326)
    pts.to_file(path, layer="schools", driver="GPKG")
    pts.iloc[:1].to_file(path, layer="shops", driver="GPKG")
    assert read_layer(path, layer="shops")["name"].tolist() == NAMES[:1]
    assert read_layer(path, layer="schools")["name"].tolist() == NAMES
    with pytest.raises(InputError, match=r"2 layers.*'schools'.*layer="):
        read_layer(path)
    with pytest.raises(InputError, match=r"no layer 'shop'.*Did you mean 'shops'"):
        read_layer(path, layer="shop")


def test_shapefile_with_cpg_utf8(tmp_path):
    path = tmp_path / "utf8.shp"
    gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(LON, LAT), crs=4326).to_file(path)
    assert (tmp_path / "utf8.cpg").exists()
    gdf = read_layer(path)
    assert gdf["name"].tolist() == NAMES


def test_shapefile_gbk_without_cpg(tmp_path):
    path = tmp_path / "gbk.shp"
    gpd.GeoDataFrame(
        {"name": NAMES, "地址": ["福田区", "南山区", "罗湖区"]},
        geometry=gpd.points_from_xy(LON, LAT),
        crs=4326,
    ).to_file(path, encoding="gbk")
    (tmp_path / "gbk.cpg").unlink()
    gdf = read_layer(path)
    assert gdf["name"].tolist() == NAMES
    assert gdf["地址"].tolist() == ["福田区", "南山区", "罗湖区"]
    assert gdf.attrs["encoding"] == "GBK"
    fac = read_facilities(path, category_from="name")  # keyword rules on GBK names
    assert set(fac["category"]) >= {"kindergarten", "health_station"}


def test_shapefile_with_wgs84_prj_but_gcj02_numbers(tmp_path):
    """Amap-derived shapefiles: crs='gcj02' reinterprets the numbers whatever the .prj says."""
    path = tmp_path / "amap.shp"
    gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(LON, LAT), crs=4326).to_file(path)
    gdf = read_layer(path, crs="gcj02")
    assert set(gdf["source_crs"]) == {"GCJ-02"}
    _, _, dist = GEOD.inv(LON, LAT, gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy())
    assert ((dist > 200) & (dist < 700)).all()
    assert read_layer(path, crs="wgs84")["source_crs"].tolist() == ["WGS-84"] * 3
    with pytest.raises(InputError, match=r"declares its CRS as WGS-84.*EPSG:3857.*drop crs="):
        read_layer(path, crs="EPSG:3857")


def test_projected_file_is_converted(tmp_path):
    path = tmp_path / "utm.gpkg"
    pts = gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(LON, LAT), crs=4326)
    pts.to_crs(32650).to_file(path, driver="GPKG")
    gdf = read_layer(path)
    assert gdf.crs.to_epsg() == 4326
    assert np.allclose(gdf.geometry.x, LON, atol=1e-9)
    assert set(gdf["source_crs"]) == {"EPSG:32650"}


# --- Amap exports and categories ----------------------------------------------------------


def test_amap_csv_gcj02_typecodes(tmp_path):
    raw_lon = [113.2644, 113.2710, 113.2802, 113.2900]  # Guangzhou, GCJ-02
    raw_lat = [23.1291, 23.1350, 23.1402, 23.1455]
    amap = pd.DataFrame(
        {
            "id": ["B0FF1", "B0FF2", "B0FF3", "B0FF4"],
            "name": ["阳光幼儿园", "华润万家", "老街酒吧餐厅", "某某公司"],
            "type": [
                "科教文化服务;学校;幼儿园",
                "购物服务;超级市场;超市",
                "体育休闲服务;娱乐场所;酒吧",
                "公司企业;公司;公司",
            ],
            "typecode": ["141204", "060400", "080304|050202", "170200"],
            "location": [f"{x},{y}" for x, y in zip(raw_lon, raw_lat, strict=True)],
        }
    )
    path = tmp_path / "amap.csv"
    amap.to_csv(path, index=False, encoding="utf-8-sig")
    fac = read_facilities(path, crs="gcj02", category_from="typecode")
    assert dict(zip(fac["name"], fac["category"], strict=True)) == {
        "阳光幼儿园": "kindergarten",
        "华润万家": "supermarket",
        "老街酒吧餐厅": "catering",
    }
    assert fac.attrs["unmatched"] == 1  # the company
    assert fac["typecode"].tolist() == ["141204", "060400", "080304|050202"]
    assert set(fac["source_crs"]) == {"GCJ-02"}
    rows = fac["source_row"].to_numpy()
    _, _, dist = GEOD.inv(
        np.array(raw_lon)[rows],
        np.array(raw_lat)[rows],
        fac.geometry.x.to_numpy(),
        fac.geometry.y.to_numpy(),
    )
    assert ((dist > 200) & (dist < 700)).all(), dist

    kept = read_facilities(path, crs="gcj02", category_from="typecode", keep_unmatched=True)
    assert len(kept) == 4
    assert kept["category"].isna().tolist() == [False, False, False, True]
    assert kept["source_row"].tolist() == [0, 1, 2, 3]

    # categories= keeps some categories (a group keeps its members), as load_facilities
    only = read_facilities(
        path, crs="gcj02", category_from="typecode", categories="convenience_shopping"
    )
    assert only["name"].tolist() == ["华润万家"] and only.attrs["unmatched"] == 1
    both = read_facilities(
        path, crs="gcj02", category_from="typecode", categories=["catering", "kindergarten"]
    )
    assert both["name"].tolist() == ["阳光幼儿园", "老街酒吧餐厅"]


def test_typecodes_that_lost_their_leading_zero(tmp_path):
    path = tmp_path / "excel_mangled.csv"
    pd.DataFrame(
        {"name": ["超市", "幼儿园"], "typecode": [60400, 141204], "lng": LON[:2], "lat": LAT[:2]}
    ).to_csv(path, index=False)
    fac = read_facilities(path, category_from="typecode")
    assert fac["category"].tolist() == ["supermarket", "kindergarten"]


def test_category_from_name_uses_keywords_only(tmp_path):
    path = tmp_path / "names.csv"
    pd.DataFrame({"设施名称": NAMES, "x": LON, "y": LAT}).to_csv(path, index=False)
    fac = read_facilities(path, category_from="name")
    got = set(zip(fac["name"], fac["category"], strict=True))
    assert ("阳光幼儿园", "kindergarten") in got
    assert ("福田社区卫生服务站", "health_station") in got
    assert "华润万家超市" not in set(fac["name"])  # supermarkets have no keyword rule
    assert fac.attrs["unmatched"] == 1


def test_category_column_with_map_and_unknown_values(tmp_path):
    path = tmp_path / "survey.csv"
    pd.DataFrame(
        {
            "name": ["一号站", "二号站", "三号园", "四号", "五号"],
            "category": ["社区服务站", "社区服务站", "kindergarten", "小区会所", ""],
            "lon": [*LON, 114.08, 114.09],
            "lat": [*LAT, 22.56, 22.57],
        }
    ).to_csv(path, index=False)
    with pytest.warns(
        PlannerWarning,
        match=r"1 value\(s\) of column 'category' are not category or group ids.*'小区会所' "
        r"\(1 row\).*category_map=",
    ):
        fac = read_facilities(
            path,
            category="category",
            category_map={"社区服务站": "community_service_station"},
        )
    assert fac["category"].tolist() == [
        "community_service_station",
        "community_service_station",
        "kindergarten",
        "小区会所",
    ]
    assert fac["category_original"].tolist() == [
        "社区服务站",
        "社区服务站",
        "kindergarten",
        "小区会所",
    ]
    assert fac.attrs["unmatched"] == 1  # the empty cell
    assert fac["source_row"].tolist() == [0, 1, 2, 3]


def test_category_value_is_one_id_for_every_row(tmp_path):
    path = tmp_path / "kg.csv"
    pd.DataFrame({"title": NAMES, "lng": LON, "lat": LAT}).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new call warns about nothing
        fac = read_facilities(path, category_value="kindergarten")
    assert fac["category"].tolist() == ["kindergarten"] * 3
    assert fac["name"].tolist() == NAMES
    assert fac.attrs["unmatched"] == 0
    group = read_facilities(path, category_value="early_ed_childcare")
    assert group["category"].iloc[0] == "early_ed_childcare"
    mapped = read_facilities(path, category_value="幼儿园", category_map={"幼儿园": "kindergarten"})
    assert mapped["category"].tolist() == ["kindergarten"] * 3
    with pytest.raises(InputError, match=r"category_value='kindergarden' is not a known.*'kinder"):
        read_facilities(path, category_value="kindergarden")


def test_old_call_with_a_category_id_still_works_with_a_deprecation_warning(tmp_path):
    path = tmp_path / "kg.csv"
    pd.DataFrame({"title": NAMES, "lng": LON, "lat": LAT}).to_csv(path, index=False)
    with pytest.warns(DeprecationWarning, match=r"category= names a column.*category_value="):
        old = read_facilities(path, category="kindergarten")
    new = read_facilities(path, category_value="kindergarten")
    pd.testing.assert_frame_equal(pd.DataFrame(old), pd.DataFrame(new))
    with pytest.raises(InputError, match=r"'kindergarden' is neither a column.*'kindergarten'"):
        read_facilities(path, category="kindergarden")
    with pytest.warns(DeprecationWarning):  # the old call's constant mapped by category_map
        mapped = read_facilities(path, category="幼儿园", category_map={"幼儿园": "kindergarten"})
    assert mapped["category"].tolist() == ["kindergarten"] * 3
    # a column of that name is always the column, never the id
    pd.DataFrame({"title": NAMES, "lng": LON, "lat": LAT, "park": ["park"] * 3}).to_csv(
        path, index=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_facilities(path, category="park")["category"].tolist() == ["park"] * 3


def test_rules_table_is_used(tmp_path):
    path = tmp_path / "gyms.csv"
    pd.DataFrame(
        {"name": ["乐动健身"], "typecode": ["080111"], "lng": LON[:1], "lat": LAT[:1]}
    ).to_csv(path, index=False)
    table = categories(
        {
            "category": [
                {"id": "gym", "name_zh": "健身房", "name_en": "Gym", "amap_codes": ["080111"]}
            ]
        }
    )
    fac = read_facilities(path, category_from="typecode", rules=table)
    assert "gym" in set(fac["category"])


# --- the validation catalogue ------------------------------------------------------------


def test_missing_coordinate_columns_lists_the_columns(tmp_path):
    path = tmp_path / "nocoords.csv"
    pd.DataFrame({"name": NAMES, "address": ["a", "b", "c"]}).to_csv(path, index=False)
    with pytest.raises(
        MissingColumnError,
        match=r"'nocoords.csv'.*no longitude/latitude columns.*'name', 'address'.*lon=",
    ):
        read_layer(path)
    with pytest.raises(MissingColumnError, match=r"no column 'lng'.*'name', 'address'"):
        read_layer(path, lon="lng", lat="lat")


def test_ambiguous_coordinate_columns_list_the_candidates(tmp_path):
    path = tmp_path / "two.csv"
    pd.DataFrame({"name": NAMES, "lng": LON, "lat": LAT, "x": LON, "y": LAT}).to_csv(
        path, index=False
    )
    with pytest.raises(
        InputError, match=r"several columns could hold the longitude: 'lng', 'x'.*lon="
    ):
        read_layer(path)
    gdf = read_layer(path, lon="x", lat="y")
    assert np.allclose(gdf.geometry.x, LON)


def test_tagged_gcj02_columns_need_a_crs(tmp_path):
    path = tmp_path / "tagged.csv"
    pd.DataFrame({"name": NAMES, "gcj02_lng": LON, "gcj02_lat": LAT}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"'gcj02_lng' is named as GCJ02.*crs='gcj02'"):
        read_layer(path)
    assert set(read_layer(path, crs="gcj02")["source_crs"]) == {"GCJ-02"}


def test_swapped_lon_lat(tmp_path):
    path = tmp_path / "swapped.csv"
    pd.DataFrame({"name": NAMES, "lon": LAT, "lat": LON}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"look swapped.*lon='lat', lat='lon'"):
        read_layer(path)
    assert np.allclose(read_layer(path, lon="lat", lat="lon").geometry.x, LON)


def test_swapped_location_string(tmp_path):
    path = tmp_path / "latlng.csv"
    pd.DataFrame(
        {"name": NAMES, "location": [f"{y},{x}" for x, y in zip(LON, LAT, strict=True)]}
    ).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"'location' look like \"lat,lng\""):
        read_layer(path)


def test_projected_numbers_without_crs(tmp_path):
    path = tmp_path / "metres.csv"
    pd.DataFrame({"name": NAMES, "x": [500000.0, 500100.0, 500200.0], "y": [2.5e6] * 3}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match=r"not longitudes/latitudes.*crs='EPSG:"):
        read_layer(path)
    gdf = read_layer(path, crs="EPSG:32650")
    assert set(gdf["source_crs"]) == {"EPSG:32650"}
    assert gdf.geometry.x.between(113, 118).all()


def test_some_rows_out_of_range_are_dropped(tmp_path):
    path = tmp_path / "range.csv"
    pd.DataFrame({"name": NAMES, "lon": [LON[0], 250.0, LON[2]], "lat": LAT}).to_csv(
        path, index=False
    )
    with pytest.warns(PlannerWarning, match=r"dropped 1 of 3 rows .*out of range.*row 1"):
        gdf = read_layer(path)
    assert gdf["source_row"].tolist() == [0, 2]


def test_bad_coordinate_cells_are_dropped_with_one_warning(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        f"name,lng,lat\na,{LON[0]},{LAT[0]}\nb,,{LAT[1]}\nc,abc,{LAT[2]}\nd,{LON[2]},{LAT[2]}\n",
        encoding="utf-8",
    )
    with pytest.warns(
        PlannerWarning,
        match=r"'bad.csv': dropped 2 of 4 rows.*column 'lng': 2 rows, first at row 1: an empty",
    ) as record:
        gdf = read_layer(path)
    assert len(record) == 1
    assert gdf["name"].tolist() == ["a", "d"]
    assert gdf["source_row"].tolist() == [0, 3]


def test_empty_files(tmp_path):
    header_only = tmp_path / "header.csv"
    header_only.write_text("name,lon,lat\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'header.csv' has a header but no rows"):
        read_layer(header_only)
    nothing = tmp_path / "nothing.csv"
    nothing.write_bytes(b"")
    with pytest.raises(InputError, match=r"'nothing.csv' is empty"):
        read_layer(nothing)
    empty_geojson = tmp_path / "empty.geojson"
    empty_geojson.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(InputError, match=r"'empty.geojson' has no features"):
        read_layer(empty_geojson)


def _feature(geometry, name):
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def test_invalid_geometry_is_repaired(tmp_path):
    x, y = LON[0], LAT[0]
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 0.01, y + 0.01], [x + 0.01, y], [x, y + 0.01], [x, y]]],
    }
    good = {"type": "Point", "coordinates": [LON[1], LAT[1]]}
    path = tmp_path / "bowtie.geojson"
    fc = {"type": "FeatureCollection", "features": [_feature(bowtie, "蝴蝶"), _feature(good, "点")]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    with pytest.warns(
        PlannerWarning, match=r"'bowtie.geojson': repaired 1 invalid geometr.*make_valid"
    ):
        gdf = read_layer(path)
    assert gdf.geometry.is_valid.all()
    assert gdf.geometry.iloc[0].geom_type == "MultiPolygon"
    with pytest.warns(PlannerWarning, match="repaired 1 invalid"):
        fac = read_facilities(path, category_value="park")
    assert fac["area_m2"].iloc[0] > 0


def test_missing_geometry_is_dropped(tmp_path):
    path = tmp_path / "holes.geojson"
    features = [
        _feature({"type": "Point", "coordinates": [LON[0], LAT[0]]}, "有"),
        _feature(None, "无"),
        _feature({"type": "Point", "coordinates": [LON[2], LAT[2]]}, "有2"),
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    with pytest.warns(
        PlannerWarning, match=r"'holes.geojson': dropped 1 of 3 features.*source_row 1"
    ):
        gdf = read_layer(path)
    assert gdf["name"].tolist() == ["有", "有2"]
    assert gdf["source_row"].tolist() == [0, 2]


def test_spatial_file_without_crs(tmp_path):
    path = tmp_path / "nocrs.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # GDAL: "'crs' was not provided"
        gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(LON, LAT)).to_file(path)
    assert not (tmp_path / "nocrs.prj").exists()
    with pytest.raises(
        NoCrsError, match=r"'nocrs.shp' declares no coordinate reference.*crs=.*\.prj"
    ):
        read_layer(path)
    assert read_layer(path, crs="wgs84")["source_crs"].tolist() == ["WGS-84"] * 3
    assert read_layer(path, crs="gcj02")["source_crs"].tolist() == ["GCJ-02"] * 3


def test_unknown_suffix_and_missing_file(tmp_path):
    odd = tmp_path / "pois.dwg"
    odd.write_bytes(b"AC1032")
    with pytest.raises(InputError, match=r"'pois.dwg': cannot read .dwg files.*\.csv.*\.gpkg"):
        read_layer(odd)
    with pytest.raises(InputError, match=r"facilities file '.*nowhere.csv' does not exist"):
        read_facilities(tmp_path / "nowhere.csv", category_value="park")


def test_options_that_do_not_apply(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"name": NAMES, "lng": LON, "lat": LAT}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"'p.csv': sheet= do\(es\) not apply to .csv files"):
        read_layer(path, sheet="Sheet1")
    shp = tmp_path / "p.geojson"
    gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(LON, LAT), crs=4326).to_file(shp)
    with pytest.raises(InputError, match=r"lon= and lat= do\(es\) not apply to .geojson"):
        read_layer(shp, lon="x", lat="y")


def test_unknown_crs(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"name": NAMES, "lng": LON, "lat": LAT}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"'p.csv': unknown coordinate system crs='gcj-2'"):
        read_layer(path, crs="gcj-2")


def test_exactly_one_of_category_and_category_from(tmp_path):
    path = tmp_path / "p.csv"
    pd.DataFrame({"name": NAMES, "typecode": ["141204"] * 3, "lng": LON, "lat": LAT}).to_csv(
        path, index=False
    )
    with pytest.raises(
        InputError, match=r"exactly one of category= .*, category_from= .* and category_value="
    ):
        read_facilities(path, category="kindergarten", category_from="typecode")
    with pytest.raises(InputError, match=r"exactly one of category="):
        read_facilities(path, category_value="kindergarten", category="typecode")
    with pytest.raises(InputError, match=r"exactly one of category="):
        read_facilities(path)
    with pytest.raises(MissingColumnError, match=r"no column 'typecodes'.*Did you mean 'typecode'"):
        read_facilities(path, category_from="typecodes")
    # headers are compared without case, width and punctuation: this is the same column
    assert len(read_facilities(path, category_from="Type_Code")) == 3


# --- real data ---------------------------------------------------------------------------


def test_real_amap_api_pages(tmp_path):
    src = shared_file("shenzhen_aed_gcj02", "amap_poi_api_pages_shenzhen.tsv")
    pois = []
    asked = []  # the typecode each page was searched with
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        _, code, _, text = line.split("\t", 3)
        page = json.loads(json.loads(text))
        pois.extend(page["pois"])
        asked += [code] * len(page["pois"])
    table = pd.DataFrame(pois)
    table = table.astype(
        {c: str for c in table.columns if table[c].map(type).isin([list, dict]).any()}
    )
    csv_path = tmp_path / "amap_shenzhen.csv"
    table.to_csv(csv_path, index=False)
    fac = read_facilities(csv_path, crs="gcj02", category_from="typecode")
    counts = fac["category"].value_counts()
    searched = pd.Series(asked).value_counts()
    # the pages searched with 141204 (幼儿园) and 060400 (超级市场) give those categories;
    # every POI without a category is counted as unmatched
    assert counts["kindergarten"] == searched["141204"] > 0
    assert counts["supermarket"] == searched["060400"] > 0
    assert fac.attrs["unmatched"] == len(table) - fac["source_row"].nunique()
    assert set(fac["source_crs"]) == {"GCJ-02"}
    assert fac.geometry.x.between(113.7, 114.7).all() and fac.geometry.y.between(22.4, 22.9).all()
    assert fac["typecode"].str.fullmatch(r"\d{6}(\|\d{6})*").all()  # zeros kept
    assert not any(re.search(r"[ÃÂ]", n) for n in fac["name"])  # no mojibake
