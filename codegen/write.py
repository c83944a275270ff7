"""Stage 5: put the rendered files on disk, all at once or not at all.

Files are written into a staging folder beside ``generated/`` and formatted
there; then the staging folder takes the place of ``generated/`` by renames.
``--check`` stages the same way and compares instead of swapping.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .render import RenderedFile

__all__ = ["format_python", "replace_tree", "stage", "stale_files"]

IGNORED = ("__pycache__", ".mypy_cache", ".ruff_cache")
"""Caches that tools leave beside generated code; not part of the tree."""

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
    ruff = [sys.executable, "-m", "ruff"]
    common = [*RUFF_SETTINGS, "--no-cache", "--quiet"]
    fixes = ["--select", "I,RUF022", "--fix"]
    subprocess.run([*ruff, "check", *common, *fixes, *python_files], check=True)
    subprocess.run([*ruff, "format", *common, *python_files], check=True)


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
    shutil.rmtree(backup, ignore_errors=True)


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
    found += [f"{prefix / name} (not generated; remove it)" for name in cmp.right_only]
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
