"""Writing outputs atomically, each folder with a ``manifest.json``.

An output folder is first written beside its target under a temporary name and renamed into place only
when every file is complete, so a failed or interrupted run never leaves a half-written folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from model.parameters import ParameterSet
from model.scenario import Scenario

REPO_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target`` in one rename.

    On an exception the temporary folder is removed and ``target`` is left as it was.
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write a text file atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_json(path: Path | str, data: object) -> None:
    """Write JSON (indented, UTF-8) atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def code_version() -> str:
    """Package version plus the git commit (and '+dirty' for uncommitted changes) when available."""
    try:
        version = metadata.version("nysjanse")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        return f"{version}+g{commit}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return version


def manifest(
    *,
    command: str,
    scenarios: list[Scenario],
    params: ParameterSet,
    seed: int,
    started: dt.datetime,
    seconds: float,
    files: list[str],
    extra: dict | None = None,
) -> dict:
    """The manifest of an output folder: what was run, with what, by which code, how long it took."""
    versions = {}
    for pkg in ("numpy", "scipy", "simpy", "pandas", "pyarrow"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {
        "tool": "nysjanse",
        "command": command,
        "argv": sys.argv,
        "code_version": code_version(),
        "python": platform.python_version(),
        "packages": versions,
        "scenarios": [
            {"name": s.name, "path": str(s.path), "hash": s.hash} for s in scenarios
        ],
        "seed": seed,
        "started_utc": started.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "files": sorted(files),
        "parameter_sources": {
            source: sorted(p.name for p in params.values() if p.source == source)
            for source in ("calibrated", "literature", "assumption")
        },
        "parameters": {p.name: {"value": p.value, "source": p.source} for p in params.values()},
        **(extra or {}),
    }


_BUNDLE_NOTES = re.compile(r"^[ \t]*//[ \t]*(?:TODO|FIXME)\b[^\n]*\n", re.MULTILINE)


def figure_html(fig: Any, *, include_plotlyjs: bool, config: dict | None = None) -> str:
    """A plotly figure as an HTML fragment for a report that opens offline.

    With ``include_plotlyjs`` the plotly.js bundle is inlined; the bundle carries a few to-do notes of
    plotly's own authors as whole comment lines, which are left out (reports in the tree hold no to-dos
    that are not ours). Only such comment lines go: the code is unchanged.
    """
    out = fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs, config=config)
    return _BUNDLE_NOTES.sub("", out) if include_plotlyjs else out
