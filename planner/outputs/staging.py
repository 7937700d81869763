"""Output folders that are whole or absent: write beside the target, then swap it in.

A run writes its bundle (tables, sites, map, reports) into a hidden staging folder beside
the target, ``.<name>.planner-new-<pid>-<token>``. Only when every file is written does
it swap the folders: the previous folder is renamed aside
(``.<name>.planner-old-<pid>-<token>``), the staging folder takes its name, and the
previous one is deleted. So:

- an error, Ctrl-C (``KeyboardInterrupt``) or a handled SIGTERM while writing removes
  the staging folder and leaves the previous results untouched;
- a second run into the same folder replaces the first run's bundle as a whole: none of
  its files (sites, reports) is left beside the new tables;
- files in the folder that are not planner's (anything the previous run's manifest does
  not list, e.g. a planner's own notes) are carried over into the new folder (as hard
  links when the file system allows, else copies);
- a kill that cannot be caught (SIGKILL, power loss) may leave a hidden staging or old
  folder; the next run into the same folder removes them first, and puts the previous
  folder back if the kill fell between the two renames.

Every staged folder gets ``planner-manifest.json`` listing exactly the files of the run
(relative paths), planner's version and the time: it tells a colleague which files
belong together, and the next run which files are planner's.

Why a swap rather than a manifest alone: writing files in place and deleting the
previous run's leftovers afterwards leaves, when interrupted, a folder that mixes two
runs; the swap leaves either the old folder or the new one.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fnmatch
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._io import atomic_write
from .._log import log
from .._version import __version__
from ..errors import PlannerError

__all__ = ["MANIFEST", "clean_leftovers", "read_manifest", "staged_folder"]

#: The file listing a staged folder's files (relative paths), written last.
MANIFEST = "planner-manifest.json"
_TAG = ".planner-"


def _hidden(out: Path, kind: str) -> Path:
    return out.parent / f".{out.name}{_TAG}{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (POSIX); elsewhere only this process counts."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _leftovers(out: Path) -> list[tuple[str, int, Path]]:
    """Hidden staging (``new``) and set-aside (``old``) folders of earlier runs into
    ``out`` whose process no longer runs: (kind, pid, path)."""
    found: list[tuple[str, int, Path]] = []
    if not out.parent.is_dir():
        return found
    prefix = f".{out.name}{_TAG}"
    for entry in out.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        kind, _, rest = entry.name[len(prefix) :].partition("-")
        pid_text = rest.partition("-")[0]
        if kind not in {"new", "old"} or not pid_text.isdigit():
            continue
        if not _alive(int(pid_text)):
            found.append((kind, int(pid_text), entry))
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_leftovers(out: str | os.PathLike[str]) -> list[Path]:
    """Remove what killed runs into ``out`` left beside it; restore the previous folder
    if a run was killed between setting it aside and moving the new one in.

    Runs by itself at the start of every :func:`staged_folder`; returns what it removed
    or restored.
    """
    target = Path(out)
    done = []
    for kind, _, path in sorted(_leftovers(target), key=lambda t: t[0] != "old"):
        if kind == "old" and not target.exists():
            os.replace(path, target)
            log(f"outputs: restored {target} from an interrupted run")
        else:
            _remove(path)
        done.append(path)
    return done


def read_manifest(folder: str | os.PathLike[str]) -> list[str] | None:
    """The files a staged folder's manifest lists (relative paths), or None without one."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return [str(f) for f in files] if isinstance(files, list) else None


def _files(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted POSIX relative paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _write_manifest(folder: Path) -> Path:
    files = [f for f in _files(folder) if f != MANIFEST]
    data = {
        "planner": str(__version__),
        "written": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "files": files,
    }
    path = folder / MANIFEST
    text = json.dumps(data, ensure_ascii=False, indent=1)

    def write(tmp: Path) -> None:
        tmp.write_text(text + "\n", encoding="utf-8")

    atomic_write(path, write)
    return path


#: A temporary file of :func:`planner._io.atomic_write` left by a killed writer:
#: ``.<stem>.<8 random characters><suffix>``.
_ATOMIC_TEMP = re.compile(r"^\.(?P<stem>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]*)?$")


def _owned(previous: Path, patterns: Sequence[str]) -> set[str]:
    """Top-level names in the previous folder that belong to planner: those its manifest
    lists (and the manifest), or without one those matching ``patterns``; and the
    temporary files a killed writer left for any of them."""
    listed = read_manifest(previous)
    names = [p.name for p in previous.iterdir()]
    if listed is not None:
        owned = {f.split("/", 1)[0] for f in listed} | {MANIFEST}
    else:
        owned = {n for n in names if any(fnmatch.fnmatch(n, pat) for pat in patterns)}
        owned.add(MANIFEST)
    for n in names:
        temp = _ATOMIC_TEMP.match(n)
        if temp is None:
            continue
        base = temp["stem"] + (temp["suffix"] or "")
        if base in owned or any(fnmatch.fnmatch(base, pat) for pat in patterns):
            owned.add(n)
    return owned


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry(previous: Path, stage: Path, names: Sequence[str]) -> list[str]:
    """Bring these top-level entries of the previous folder into the new one (unless the
    new one has them): hard links where possible, so even large files cost nothing."""
    carried = []
    for name in names:
        entry, dest = previous / name, stage / name
        if dest.exists() or dest.is_symlink():
            continue
        if entry.is_symlink():
            os.symlink(os.readlink(entry), dest)
        elif entry.is_dir():
            shutil.copytree(entry, dest, copy_function=_link_or_copy, symlinks=True)
        else:
            _link_or_copy(str(entry), str(dest))
        carried.append(name)
    return carried


def _previous(
    previous: Path, patterns: Sequence[str], keep: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The previous folder's entries to carry over: planner's that ``keep`` names, and
    every one that is not planner's."""
    if not previous.is_dir():
        return [], []
    owned = _owned(previous, patterns)
    names = sorted(p.name for p in previous.iterdir())
    kept = [
        n
        for n in names
        if n in owned and n != MANIFEST and any(fnmatch.fnmatch(n, k) for k in keep)
    ]
    return kept, [n for n in names if n not in owned]


def _swap(stage: Path, out: Path) -> None:
    """Put ``stage`` in place of ``out``: set the old folder aside, rename, delete it."""
    old = _hidden(out, "old") if out.exists() else None
    moved = False
    try:
        if old is not None:
            os.replace(out, old)
            moved = True
        os.replace(stage, out)
    except BaseException as exc:
        if moved and not out.exists():
            os.replace(old, out)  # type: ignore[arg-type]  # old is set when moved
        if isinstance(exc, OSError):
            msg = (
                f"could not replace the output folder {out}: {exc.strerror or exc}. Is a file "
                "in it open in another program (e.g. the XLSX in Excel)? Close it and run "
                "again; the previous results are unchanged."
            )
            raise PlannerError(msg) from exc
        raise
    if old is not None:
        _remove(old)


def _check_target(out: Path) -> Path:
    if out.is_symlink():
        out = out.resolve()
    if out.exists() and not out.is_dir():
        msg = f"the output folder {out} is a file; give a folder path."
        raise PlannerError(msg)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def staged_folder(
    out: str | os.PathLike[str], *, owned: Sequence[str] = ("*",), keep: Sequence[str] = ()
) -> Iterator[Path]:
    """A staging folder to write a whole output folder into; swapped in place of ``out``
    when the block ends normally, deleted (``out`` untouched) when it raises.

    Parameters
    ----------
    out
        The output folder (created with its parents; an existing one is replaced).
    owned
        Name patterns (fnmatch) of the top-level entries planner writes there, used to
        tell planner's files from a person's when the previous folder has no manifest
        (written before manifests existed); other entries are carried over. With a
        manifest, the entries it lists are planner's.
    keep
        Name patterns of the previous run's entries to keep when the new run does not
        write them (e.g. ``("assessment*",)`` to keep the tables when only new sites
        are written); they are listed in the new manifest.

    Yields
    ------
    pathlib.Path
        The staging folder: write every file of the run under it.

    Examples
    --------
    >>> with staged_folder("maps/run") as folder:  # doctest: +SKIP
    ...     (folder / "a.csv").write_text("x")
    """
    target = _check_target(Path(out))
    clean_leftovers(target)
    stage = _hidden(target, "new")
    stage.mkdir()
    try:
        yield stage
        kept, foreign = _previous(target, owned, keep)
        _carry(target, stage, kept)
        _write_manifest(stage)
        carried = _carry(target, stage, foreign)
        if carried:
            log(f"outputs: kept {len(carried)} entries not written by planner: {carried}")
        _swap(stage, target)
    except BaseException:
        _remove(stage)
        raise
