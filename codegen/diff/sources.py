"""OLD and NEW: a spec file, or ``REF:PATH`` read from git, loaded and composed as codegen does.

Both sides go through the generator's own stages (load, compose, validate, IR),
so the diff compares what the surfaces are generated from: an ``allOf``
refactor that composes to the same objects is no change at all.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..compose import flatten_all_of
from ..ir import build_ir
from ..issues import Level, SpecError, SpecIssue
from ..load import LoadedSpec, load_spec
from ..validate import CHECKS, check_examples, check_openapi, check_refs
from .operations import Side

__all__ = ["SourceError", "load_side", "side_from_document", "side_from_spec"]


class SourceError(Exception):
    """OLD or NEW cannot be read or is not a spec the generator accepts; names which one."""


def load_side(argument: str, role: str, cwd: Path) -> Side:
    """The spec ``argument`` names: a file, else ``REF:PATH`` in the git repository at ``cwd``."""
    path = cwd / argument
    if path.is_file():
        return _loaded(path, argument, role)
    ref, sep, inner = argument.partition(":")
    if not sep or not ref or not inner:
        raise SourceError(f"{role} {argument!r}: no such file (a git revision is written REF:PATH)")
    text = _git_show(ref, inner, argument, role, cwd)
    with tempfile.TemporaryDirectory(prefix="spec-diff-") as folder:
        copy = Path(folder) / Path(inner).name
        copy.write_text(text, encoding="utf-8")
        return _loaded(copy, argument, role)


def _git_show(ref: str, inner: str, argument: str, role: str, cwd: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "show", f"{ref}:{inner}"],
            cwd=cwd,
            capture_output=True,
            check=False,
        )
    except OSError as err:
        raise SourceError(f"{role} {argument!r}: cannot run git: {err}") from err
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[0] if reason else f"git show exited {done.returncode}"
        raise SourceError(f"{role} {argument!r}: not in git: {detail}")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(f"{role} {argument!r}: not UTF-8 text") from err


DIFF_CHECKS = tuple(check for check in CHECKS if check not in (check_openapi, check_examples))
"""The generator's checks of what the IR reads. The OpenAPI schema and the examples are
``python -m codegen``'s to enforce: a diff is asked for mid-edit, before the examples
and descriptions catch up."""


def _checked(document: Mapping[str, Any]) -> list[SpecIssue]:
    """Dangling references first (every other check assumes none), then `DIFF_CHECKS`."""
    dangling = list(check_refs(document))
    if dangling:
        return dangling
    return [issue for check in DIFF_CHECKS for issue in check(document)]


def _loaded(path: Path, label: str, role: str) -> Side:
    """Load, compose, validate and build the IR; any problem names ``role`` and ``label``."""
    source = f"{role} {label}"
    try:
        spec = load_spec(path)
    except SpecError as err:
        raise SourceError(str(SpecError(source, err.issues))) from err
    return side_from_spec(spec, label, role)


def side_from_document(document: Mapping[str, Any], label: str, role: str) -> Side:
    """A side from a document already parsed (a test's edited copy of a spec)."""
    text = json.dumps(document, sort_keys=True)
    return side_from_spec(LoadedSpec(Path(label), text, document), label, role)


def side_from_spec(spec: LoadedSpec, label: str, role: str) -> Side:
    """Compose, validate and build the IR, as ``python -m codegen`` does."""
    source = f"{role} {label}"
    try:
        document, issues = flatten_all_of(spec.document)
        issues += _checked(document)
        if any(issue.level is Level.ERROR for issue in issues):
            raise SpecError(source, issues)
        api = build_ir(replace(spec, document=document))
    except SpecError as err:
        raise SourceError(str(SpecError(source, err.issues))) from err
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as err:
        # the IR refused what the checks let by
        issue = SpecIssue("#", f"cannot be read as this generator's spec: {err}")
        raise SourceError(str(SpecError(source, [issue]))) from err
    return Side(label=label, document=document, api=api)
