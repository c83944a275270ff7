"""Stage 5: put the rendered files on disk, all at once or not at all.

Files are written into a staging folder beside ``generated/`` and formatted
there; then the staging folder takes the place of ``generated/`` by renames.
``--check`` stages the same way and compares instead of swapping.
"""

from __future__ import annotations

import filecmp
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .issues import GenerationError
from .render import RenderedFile

__all__ = [
    "BUILD_OUTPUTS",
    "format_python",
    "is_build_output",
    "replace_tree",
    "stage",
    "stale_files",
]

IGNORED = ("__pycache__", ".mypy_cache", ".ruff_cache")
"""Caches that tools leave beside generated code; not part of the tree."""

BUILD_OUTPUTS = (
    "typescript/node_modules",
    "typescript/dist",
    "typescript/package-lock.json",
    "python/build",
    "python/dist",
    "python/*.egg-info",
)
"""What building the packages leaves in the tree (``npm install && npm run build``,
``python -m build``, ``pip install -e``): regeneration keeps it, ``--check`` ignores it."""

_LOCATED = re.compile(r"(\S+\.py):\d+:\d+")
"""A file and position in ruff's messages: ``python/pkg/models.py:3:7``."""

RUFF_SETTINGS = ("--isolated", "--config", "line-length=100", "--config", "target-version='py311'")


@contextmanager
def stage(files: Sequence[RenderedFile], beside: Path) -> Iterator[Path]:
    """Write ``files`` into a fresh folder next to ``beside`` and format them."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{beside.name}.staging-", dir=beside.parent))
    try:
        for file in files:
            target = staging / file.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(file.content, encoding="utf-8", newline="\n")
        format_python(staging)
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def format_python(root: Path) -> None:
    """One formatting pass over every Python file: sorted imports and ``__all__``, then format."""
    python_files = sorted(str(path) for path in root.rglob("*.py"))
    if not python_files:
        return
    ruff = _ruff()
    common = [*RUFF_SETTINGS, "--no-cache"]
    fixes = ["--select", "I,RUF022", "--fix", "--quiet", "--output-format", "concise"]
    _run_formatter([*ruff, "check", *common, *fixes, *python_files], root)
    _run_formatter([*ruff, "format", *common, *python_files], root)


def _ruff() -> list[str]:
    """Ruff's own binary beside this interpreter (no second Python start), else ``-m ruff``."""
    found = shutil.which("ruff", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "ruff"]


def _run_formatter(command: list[str], root: Path) -> None:
    """Run ruff; if it refuses a generated file, a GenerationError naming the file."""
    result = subprocess.run(command, capture_output=True, encoding="utf-8", check=False)
    if result.returncode == 0:
        return
    prefix = f"{root}{os.sep}"
    lines = [
        line.strip().replace(prefix, "")
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip()
    ]
    named = [match.group(1) for line in lines if (match := _LOCATED.search(line))]
    where = f"generated file {named[0]}" if named else "the generated Python files"
    details = "\n".join(f"    {line}" for line in lines) or f"    exit status {result.returncode}"
    raise GenerationError(where, f"ruff could not format it:\n{details}")


def replace_tree(staging: Path, target: Path) -> None:
    """Swap ``staging`` in for ``target``; a crash between the renames leaves a backup."""
    backup = target.with_name(f".{target.name}.previous")
    if backup.exists():
        shutil.rmtree(backup)
    if target.exists():
        os.replace(target, backup)
    try:
        os.replace(staging, target)
    except OSError:
        if backup.exists():
            os.replace(backup, target)
        raise
    if backup.exists():
        _carry_build_outputs(backup, target)
    shutil.rmtree(backup, ignore_errors=True)


def _carry_build_outputs(old: Path, new: Path) -> None:
    """Move `BUILD_OUTPUTS` from the old tree into the new one (renames, same folder)."""
    for pattern in BUILD_OUTPUTS:
        for found in sorted(old.glob(pattern)):
            destination = new / found.relative_to(old)
            if destination.exists() or destination.is_symlink():
                continue  # a generated file of that name wins
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(found, destination)


def is_build_output(relative: Path) -> bool:
    """Whether a path of the tree (relative to it) is one of `BUILD_OUTPUTS`."""
    text = relative.as_posix()
    return any(fnmatch.fnmatchcase(text, pattern) for pattern in BUILD_OUTPUTS)


def stale_files(expected: Path, actual: Path) -> list[str]:
    """Paths (relative to ``actual``) that differ, are missing or should not be there.

    Files whose content changed come first; files that differ only in the
    provenance line (which carries the spec's hash) follow.
    """
    found: list[str] = []
    _compare(filecmp.dircmp(expected, actual, ignore=list(IGNORED)), Path(), found)
    return sorted(found, key=lambda line: ("(only its provenance" in line, line))


def _compare(cmp: filecmp.dircmp[str], prefix: Path, found: list[str]) -> None:
    found += [f"{prefix / name} (missing)" for name in cmp.left_only]
    found += [
        f"{prefix / name} (not generated; remove it)"
        for name in cmp.right_only
        if not is_build_output(prefix / name)
    ]
    for name in cmp.common_files:
        want, have = (Path(cmp.left) / name).read_bytes(), (Path(cmp.right) / name).read_bytes()
        if want == have:
            continue
        if want.partition(b"\n")[2] == have.partition(b"\n")[2]:
            found.append(f"{prefix / name} (only its provenance line: the spec hash changed)")
        else:
            found.append(f"{prefix / name} (out of date)")
    found += [f"{prefix / name} (type differs)" for name in cmp.common_funny]
    for name, sub in sorted(cmp.subdirs.items()):
        _compare(sub, prefix / name, found)
