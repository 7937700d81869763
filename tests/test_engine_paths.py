"""The compiled engine (numba kernels, on threads) and the scipy path give the same
answers to the last bit; the number of threads changes nothing; without numba the scipy
path takes over; the compiled kernels' cache works from a read-only install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers import unavailable

import planner
from planner import _parallel, settings
from planner.access import kernel_graph, node_times
from planner.errors import InputError, PlannerWarning
from planner.network import Network
from planner.synthetic import grid_raw

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_settings():
    before = (settings.engine, settings.threads, settings.jit_cache_dir, settings.snap_grid)
    yield
    settings.engine, settings.threads, settings.jit_cache_dir, settings.snap_grid = before


def town(mode="drive", n_nodes=2500, seed=3):
    """A generated town (curved streets, missing links, one-way streets for cars), three
    categories of facilities, origins near and far, and gates for some of them."""
    net = Network.from_raw(grid_raw(n_nodes, seed=seed, oneway=0.3), mode=mode)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = net.nodes_gdf(to_input_crs=False).total_bounds

    def pts(n, margin):
        xs = rng.uniform(x0 - margin, x1 + margin, n)
        ys = rng.uniform(y0 - margin, y1 + margin, n)
        return gpd.points_from_xy(xs, ys)

    fac = gpd.GeoDataFrame(
        {"category": rng.choice(["catering", "library", "park"], 120, p=[0.6, 0.3, 0.1])},
        geometry=pts(120, 0),
        crs=net.crs,
    )
    # facilities exactly on nodes: equal times from several streets and sources
    on_nodes = gpd.GeoDataFrame(
        {"category": ["catering", "library"] * 5},
        geometry=gpd.points_from_xy(net.x[:10], net.y[:10]),
        crs=net.crs,
    )
    fac = pd.concat([fac, on_nodes], ignore_index=True)
    org = gpd.GeoDataFrame(geometry=pts(3000, 600), crs=net.crs)
    gates = gpd.GeoDataFrame(
        {"block": np.repeat(np.arange(0, 200, 2), 2)},
        geometry=pts(200, 0),
        crs=net.crs,
    )
    return net, fac, org, gates


def times(net, fac, org, gates, *, nearest=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        return planner.travel_times(net, fac, org, max_time_s=600, nearest=nearest, entrances=gates)


@pytest.mark.parametrize("grid", [False, True])
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_compiled_engine_equals_scipy_path_bitwise(restore_settings, mode, grid):
    # the grid, or only the KD-tree (never a grid built half-way, after enough points)
    settings.snap_grid = "always" if grid else "never"
    net, fac, org, gates = town(mode)
    assert (net.graph.snapper.cells is not None) == grid
    settings.engine = "scipy"
    want, want_ids = times(net, fac, org, gates)
    settings.engine = "numba"
    got, got_ids = times(net, fac, org, gates)
    a, b = got.to_numpy(), want.to_numpy()
    assert np.isfinite(a).mean() > 0.3  # not vacuous
    assert np.array_equal(a, b)  # bit for bit, inf where inf
    # a nearest facility may differ only where two are exactly as near
    t_want = _time_of(net, fac, org, gates, want_ids)
    t_got = _time_of(net, fac, org, gates, got_ids)
    assert np.array_equal(t_got, t_want)
    assert (got_ids.isna().to_numpy() == want_ids.isna().to_numpy()).all()


@pytest.mark.parametrize("grid", [False, True])
def test_compiled_snapping_of_many_points_in_cell_order(restore_settings, monkeypatch, grid):
    """From SNAP_SORT_MIN points on, the compiled engine snaps them in the order of the
    cells holding them and puts the entries back: exactly the entries (and their order)
    of snapping them in the given order, and the numpy path's entries; points on nodes,
    outside the index, far away or not finite included."""
    from planner import _snap

    settings.snap_grid = "always" if grid else "never"
    net = Network.from_raw(grid_raw(2500, seed=11), mode="walk")
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = net.nodes_gdf(to_input_crs=False).total_bounds
    n = 3 * _snap.SNAP_SORT_MIN
    px = rng.uniform(x0 - 300, x1 + 300, n)
    py = rng.uniform(y0 - 300, y1 + 300, n)
    px[:20] = net.x[:20]  # on nodes: several streets equally near
    py[:20] = net.y[:20]
    px[20:25] = np.nan
    py[25:30] = np.inf
    names = ("owner", "street", "offset", "connector", "x", "y")
    settings.engine = "numba"
    got = net.snap_xy(px, py)
    monkeypatch.setattr(_snap, "SNAP_SORT_MIN", n + 1)
    given_order = net.snap_xy(px, py)
    for name in names:
        assert np.array_equal(getattr(got, name), getattr(given_order, name), equal_nan=True)
    settings.engine = "scipy"
    want = net.snap_xy(px, py)
    a = np.lexsort((got.street, got.owner))
    b = np.lexsort((want.street, want.owner))
    for name in names:
        assert np.array_equal(getattr(got, name)[a], getattr(want, name)[b], equal_nan=True)
    assert len(got.owner) > n  # some points have entries on several streets
    assert (got.street >= 0).mean() > 0.5
    assert (got.street < 0).sum() >= 10


def _time_of(net, fac, org, gates, ids):
    """Each reported nearest facility's own time (from a pass with only it)."""
    out = np.full(ids.shape, np.inf)
    for j, cat in enumerate(ids.columns):
        col = ids[cat]
        for label in col.dropna().unique():
            one = fac.loc[[label]]
            t = times(net, one, org, gates, nearest=False)[cat].to_numpy()
            rows = (col == label).fillna(False).to_numpy(dtype=bool)
            out[rows, j] = t[rows]
    return out


def test_threads_give_identical_frames(restore_settings):
    net, fac, org, gates = town("drive", n_nodes=4000)
    settings.engine = "numba"
    settings.threads = 1
    t1, ids1 = times(net, fac, org, gates)
    settings.threads = 2
    t2, ids2 = times(net, fac, org, gates)
    pd.testing.assert_frame_equal(t1, t2, check_exact=True)
    pd.testing.assert_frame_equal(ids1, ids2, check_exact=True)
    assert np.isfinite(t1.to_numpy()).mean() > 0.3


def test_threads_give_identical_assessments(restore_settings):
    net, fac, org, _ = town("walk", n_nodes=3000)
    blocks = org.assign(population=1.0)
    circles = [
        {"id": "near", "categories": ["catering", "library"], "minutes": 5},
        {"id": "far", "categories": ["catering", "park"], "minutes": 12, "mode": "bicycle"},
        {
            "id": "one",
            "categories": ["catering", "library", "park"],
            "distance_m": 500,
            "min_kinds": 1,
        },
    ]
    frames = []
    for n in (1, 2):
        settings.threads = n
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PlannerWarning)
            a = planner.assess(net, fac, blocks, preset="guangdong_2016", circles=circles)
        frames.append(a.blocks.drop(columns="geometry"))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    assert frames[0]["near"].any()
    assert not frames[0]["near"].all()


def kernel_search(kernels, indptr, indices, data, src, src_w, ids, limit):
    """Node times of the compiled Dijkstra, with a work heap of the usual size."""
    dist = np.empty(len(indptr) - 1)
    heap = np.empty(kernels.heap_size(len(dist), len(src)))
    kernels.dijkstra(indptr, indices, data, src, src_w, ids, limit, dist,
                     np.empty(0, dtype=np.int64), heap)  # fmt: skip
    return dist


def test_kernel_dijkstra_equals_scipy_at_ties_zero_links_and_the_limit(restore_settings):
    """Random graphs with zero-time links, equal times and a limit some nodes hit exactly."""
    net = Network.from_raw(grid_raw(900, seed=5), mode="walk")
    mg = net.graph
    rng = np.random.default_rng(5)
    for _ in range(5):
        pts = net.nodes_gdf(to_input_crs=False).sample(20, random_state=int(rng.integers(1e6)))
        snap = net.snap_xy(pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
        settings.engine = "scipy"
        d0, _ = node_times(mg, snap, np.inf, with_source=True)
        limit = float(np.sort(d0[np.isfinite(d0)])[len(d0) // 3])  # reached exactly by some
        d1, _ = node_times(mg, snap, limit, with_source=True)
        settings.engine = "numba"
        d2, s2 = node_times(mg, snap, limit, with_source=True)
        assert np.array_equal(d1, d2)
        assert (d2 == limit).any()
        reached = np.isfinite(d2)
        assert (s2[reached] >= 0).all()
        assert (s2[~reached] == -1).all()
    # zero-time links and equal times, straight on the kernel
    kernels = _parallel.kernels()
    assert kernels is not None
    n = 400
    rows = rng.integers(0, n, 2400)
    cols = rng.integers(0, n, 2400)
    w = rng.choice([0.0, 1.0, 2.5, 3.0], 2400)
    csr = sp.csr_matrix((w, (rows, cols)), shape=(n, n))
    csr.sum_duplicates()
    src = np.array([0, 7, 7, 99], dtype=np.int32)
    src_w = np.array([0.0, 1.0, 0.5, 2.0])
    ext = sp.bmat([[csr, None], [sp.csr_matrix((src_w, (np.arange(4), src)), shape=(4, n)),
                                 sp.csr_matrix((4, 4))]]).tocsr()  # fmt: skip
    from scipy.sparse.csgraph import dijkstra

    want = dijkstra(ext, indices=np.arange(n, n + 4), limit=4.0, min_only=True)[:n]
    got = kernel_search(
        kernels, csr.indptr.astype(np.int32), csr.indices.astype(np.int32), csr.data, src,
        src_w, np.arange(4, dtype=np.int64), 4.0,
    )  # fmt: skip
    assert np.array_equal(got, want)
    assert np.isfinite(got).mean() > 0.2
    assert kernel_graph(mg).indptr[-1] == mg.csr_t.nnz


def test_kernel_heap_that_overflows_grows_and_gives_the_same_times():
    """A work heap too small for the search (one entry) is replaced by larger ones until
    the search completes; the times equal those of a search with room to spare."""
    kernels = _parallel.kernels()
    assert kernels is not None
    net = Network.from_raw(grid_raw(900, seed=7), mode="walk")
    kg = kernel_graph(net.graph)
    n = len(kg.indptr) - 1
    src = np.array([0, 5, 300], dtype=kg.indices.dtype)
    src_w = np.array([0.0, 3.0, 1.5])
    ids = np.arange(3, dtype=np.int64)
    want = kernel_search(kernels, kg.indptr, kg.indices, kg.data, src, src_w, ids, 1800.0)
    dist, who = np.empty(n), np.empty(n, dtype=np.int64)
    tiny = np.empty(2)
    heap = kernels.dijkstra(kg.indptr, kg.indices, kg.data, src, src_w, ids, 1800.0, dist, who,
                            tiny)  # fmt: skip
    assert len(heap) > len(tiny)
    assert np.array_equal(dist, want)
    assert np.isfinite(dist).sum() > n // 4
    assert set(np.unique(who[np.isfinite(dist)])) <= {0, 1, 2}
    assert len(kernels.dijkstra(kg.indptr, kg.indices, kg.data, src, src_w, ids, 1800.0, dist,
                                who, heap)) == len(heap)  # fmt: skip


def test_without_numba_the_scipy_path_runs(restore_settings, monkeypatch):
    net, fac, org, gates = town("walk", n_nodes=900)
    settings.engine = "numba"
    want = times(net, fac, org, gates, nearest=False)
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" now fails
    monkeypatch.delitem(sys.modules, "planner._kernels")
    monkeypatch.setattr(_parallel, "_state", {**_parallel._state, "tried": False})
    settings.engine = "auto"
    assert _parallel.kernels() is None
    got = times(net, fac, org, gates, nearest=False)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    settings.engine = "numba"
    with pytest.raises(InputError, match="numba cannot be imported"):
        _parallel.kernels()


@pytest.mark.parametrize("bad", [0, -2, 1.5, "4", True])
def test_bad_threads_or_engine_settings(restore_settings, bad):
    settings.threads = bad
    with pytest.raises(InputError, match=r"settings\.threads"):
        _parallel.n_threads()
    settings.threads = None
    settings.engine = str(bad)
    with pytest.raises(InputError, match=r"settings\.engine"):
        _parallel.kernels()


# --- the kernels' cache in a read-only install -------------------------------------------

_RUN = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np, geopandas as gpd
    import planner
    from planner import settings, _parallel
    from planner.synthetic import grid_raw
    from planner.network import Network
    settings.engine = "numba"
    if len(sys.argv) > 1:
        settings.jit_cache_dir = sys.argv[1]
    net = Network.from_raw(grid_raw(400, seed=1), mode="walk")
    pts = gpd.GeoSeries(gpd.points_from_xy(net.x[::7], net.y[::7]), crs=net.crs)
    fac = gpd.GeoDataFrame({"category": ["a"] * len(pts)}, geometry=pts)
    t = planner.travel_times(net, fac, pts, max_time_s=300)
    k = _parallel.kernels()
    print("FILE", planner.__file__)
    print("HITS", sum(sum(f.stats.cache_hits.values()) for f in (k.category_times, k.snap_points)))
    print("FINITE", float(np.isfinite(t.to_numpy()).mean()))
    """
)


def _read_only_run(tmp_path, env_extra, args=()):
    """Run _RUN on a copy of planner mounted read-only (as is HOME), in a mount namespace."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        unavailable("unshare/mount are needed to mount a read-only copy of planner")
    src = tmp_path / "site"
    if not src.exists():  # one copy: the cache is keyed by the source file and its time
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "planner", src / "planner", ignore=skip)
    ro = tmp_path / "ro"
    home = tmp_path / "home"
    ro.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    script = tmp_path / "run.py"
    script.write_text(_RUN)
    py = " ".join([sys.executable, str(script), *args])
    cmd = (
        f"mount --bind -o ro {src} {ro} && mount --bind -o ro {home} {home} && "
        f"cd {tmp_path} && {py}"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(PYTHONPATH=str(ro), HOME=str(home), TMPDIR=str(tmp_path), **env_extra)
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode and "unshare" in proc.stderr and "Operation not permitted" in proc.stderr:
        unavailable(f"no mount namespace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert out["FILE"].startswith(str(ro))  # the read-only copy was the one imported
    assert float(out["FINITE"]) > 0.5
    assert not any((src / "planner").rglob("*.nbi"))  # nothing written into the install
    return int(out["HITS"])


def test_kernel_cache_in_a_read_only_install(tmp_path):
    """NUMBA_CACHE_DIR (or settings.jit_cache_dir) holds the cache; a second run loads it."""
    cache = tmp_path / "cache"
    env = {"NUMBA_CACHE_DIR": str(cache)}
    assert _read_only_run(tmp_path, env) == 0  # compiled, then saved
    assert any(cache.rglob("*.nbi"))
    assert _read_only_run(tmp_path, env) > 0  # loaded from the cache
    other = tmp_path / "other"
    assert _read_only_run(tmp_path, {}, [str(other)]) == 0
    assert any(other.rglob("*.nbi"))


def test_kernel_cache_falls_back_to_the_temporary_folder(tmp_path):
    """Nowhere writable beside the package nor in HOME: the system's temporary folder."""
    assert _read_only_run(tmp_path, {}) == 0
    assert any((tmp_path / "planner-numba-cache").rglob("*.nbi"))
    assert _read_only_run(tmp_path, {}) > 0


_FORKED: list = []  # what a forked child computes on (inherited, not pickled)


def _child_times(_):
    return times(*_FORKED, nearest=False).to_numpy()


def test_threads_work_in_a_forked_child(restore_settings):
    """A process forked after the engine's threads started gets threads of its own."""
    import multiprocessing

    net, fac, org, gates = town("walk", n_nodes=900)
    settings.engine, settings.threads = "numba", 2
    want = times(net, fac, org, gates, nearest=False).to_numpy()  # the parent's pool runs
    _FORKED[:] = [net, fac, org, gates]
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_child_times, (0,)).get(timeout=300)
    _FORKED.clear()
    assert np.array_equal(got, want)
