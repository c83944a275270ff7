"""``python -m codegen.release``: cut a release of both packages from the spec's diff.

The last release is the highest ``v*`` git tag or ``releases/<version>/openapi.yaml``
snapshot (a tie goes to the tag); its spec is diffed with the current one by
``python -m codegen diff --json``, which says the bump the changes need. A
release then writes, together or not at all: the version in ``release.toml``,
a ``CHANGELOG.md`` section made from the diff's changes, the spec snapshot of
the new version (so a clone without tags still knows it), and ``generated/``.
A bump below the one the diff needs is refused, naming the changes that need
more. ``--check`` (CI) writes nothing: it fails when breaking changes since
the last release are not matched by a major version in ``release.toml``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .changelog import Change, ChangelogError, new_changelog, with_release
from .issues import GenerationError, SpecError
from .package_version import Bump, Version, read_release_config

__all__ = [
    "DiffResult",
    "LastRelease",
    "ReleaseRefusedError",
    "Workspace",
    "find_last_release",
    "main",
    "parse_diff",
    "required_changes",
    "run_diff",
]

_LEVELS = ("breaking", "additive", "patch")
_LEVEL_BUMP = {"breaking": Bump.MAJOR, "additive": Bump.MINOR, "patch": Bump.PATCH}
_RELEASE_CONFIG_VERSION = re.compile(r'^version\s*=\s*"[^"]*"', re.MULTILINE)


class ReleaseRefusedError(Exception):
    """The release cannot go ahead as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Workspace:
    """The files a release reads and writes, all under one root."""

    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "spec" / "openapi.yaml"

    @property
    def config(self) -> Path:
        return self.root / "release.toml"

    @property
    def changelog(self) -> Path:
        return self.root / "CHANGELOG.md"

    @property
    def generated(self) -> Path:
        return self.root / "generated"

    def snapshot(self, version: Version) -> Path:
        return self.root / "releases" / str(version) / "openapi.yaml"


@dataclass(frozen=True)
class LastRelease:
    version: Version
    origin: str
    """``tag v1.0.0`` or ``releases/1.0.0/openapi.yaml``: where its spec was read."""
    spec_text: str


@dataclass(frozen=True)
class DiffResult:
    bump: Bump
    changes: tuple[Change, ...]


Differ = Callable[[Path, Path], DiffResult]


# --------------------------------------------------------------------------- the last release


def find_last_release(workspace: Workspace) -> LastRelease:
    """The highest released version and its spec: a ``v*`` tag, else a recorded snapshot."""
    tags = _tag_versions(workspace.root)
    snapshots = _snapshot_versions(workspace)
    if not tags and not snapshots:
        raise ReleaseRefusedError(
            "no last release found: tag it (git tag v1.0.0) or record its spec as "
            "releases/<version>/openapi.yaml"
        )
    newest = max([*tags, *snapshots])
    if newest in tags:
        tag = f"v{newest}"
        text = _git(workspace.root, "show", f"{tag}:spec/openapi.yaml")
        if text is None:
            raise ReleaseRefusedError(f"tag {tag} has no spec/openapi.yaml")
        return LastRelease(newest, f"tag {tag}", text)
    snapshot = workspace.snapshot(newest)
    return LastRelease(
        newest,
        snapshot.relative_to(workspace.root).as_posix(),
        snapshot.read_text(encoding="utf-8"),
    )


def _tag_versions(root: Path) -> set[Version]:
    listed = _git(root, "tag", "--list", "v*") or ""
    versions = set()
    for tag in listed.split():
        try:
            versions.add(Version.parse(tag.removeprefix("v")))
        except ValueError:
            continue  # v-something that is not a release tag
    return versions


def _snapshot_versions(workspace: Workspace) -> set[Version]:
    folder = workspace.root / "releases"
    versions = set()
    for spec in folder.glob("*/openapi.yaml") if folder.is_dir() else ():
        try:
            versions.add(Version.parse(spec.parent.name))
        except ValueError:
            continue
    return versions


def _git(root: Path, *args: str) -> str | None:
    """A git command's output, or None when git is missing, this is no repository, or it fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# --------------------------------------------------------------------------- the diff


def run_diff(old: Path, new: Path) -> DiffResult:
    """``python -m codegen diff OLD NEW --json`` from this package's own copy of the generator."""
    command = [sys.executable, "-m", "codegen", "diff", str(old), str(new), "--json"]
    done = subprocess.run(
        command,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise ReleaseRefusedError(
            f"`python -m codegen diff` failed (exit {done.returncode}):\n{done.stderr.strip()}"
        )
    return parse_diff(done.stdout, "the output of `python -m codegen diff --json`")


def parse_diff(text: str, source: str) -> DiffResult:
    """The diff's JSON, checked: every bad field is named rather than half-used."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ReleaseRefusedError(f"{source} is not JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("changes"), list):
        raise ReleaseRefusedError(f'{source}: expected {{"bump": ..., "changes": [...]}}')
    try:
        bump = Bump.from_label(str(data.get("bump")))
    except ValueError as err:
        raise ReleaseRefusedError(f"{source}: bump: {err}") from None
    changes = tuple(
        _change(item, f"{source}: changes[{i}]") for i, item in enumerate(data["changes"])
    )
    implied = max((_LEVEL_BUMP[c.level] for c in changes), default=Bump.NONE)
    return DiffResult(max(bump, implied), changes)


def _change(item: object, where: str) -> Change:
    if not isinstance(item, dict):
        raise ReleaseRefusedError(f"{where}: expected an object")
    fields = ("level", "rule", "pointer", "surface", "message")
    missing = [name for name in fields if not isinstance(item.get(name), str)]
    if missing:
        raise ReleaseRefusedError(f"{where}: missing or not a string: {', '.join(missing)}")
    if item["level"] not in _LEVELS:
        raise ReleaseRefusedError(
            f"{where}.level: {item['level']!r} is not one of {', '.join(_LEVELS)}"
        )
    return Change(**{name: str(item[name]) for name in fields})


def required_changes(diff: DiffResult, bump: Bump) -> list[Change]:
    """The changes that need more than ``bump``: what a refusal names."""
    return [c for c in diff.changes if _LEVEL_BUMP[c.level] > bump]


def _diff_against(last: LastRelease, workspace: Workspace, differ: Differ) -> DiffResult:
    with tempfile.TemporaryDirectory(prefix="nf-release-") as folder:
        old = Path(folder) / f"openapi-{last.version}.yaml"
        old.write_text(last.spec_text, encoding="utf-8")
        return differ(old, workspace.spec)


# --------------------------------------------------------------------------- check and release


def check(workspace: Workspace, differ: Differ) -> str:
    """CI's gate: a breaking change since the last release needs a major version in release.toml."""
    last = find_last_release(workspace)
    current = read_release_config(workspace.config).version
    diff = _diff_against(last, workspace, differ)
    applied = current.bump_from(last.version)
    if current < last.version:
        raise ReleaseRefusedError(
            f"release.toml says {current}, below the last release {last.version}"
        )
    if diff.bump is Bump.MAJOR and applied < Bump.MAJOR:
        raise ReleaseRefusedError(
            f"breaking changes since {last.version} ({last.origin}), but release.toml "
            f"still says {current}: run `nox -s release` (a major release)"
            + _listed(required_changes(diff, Bump.MINOR))
        )
    pending = "" if applied >= diff.bump else f"; a {diff.bump.label} release is pending"
    return (
        f"{len(diff.changes)} change(s) since {last.version} ({last.origin}), "
        f"needing a {diff.bump.label} bump; release.toml says {current}{pending}."
    )


def release(
    workspace: Workspace, differ: Differ, requested: Bump | None, date: str
) -> tuple[Version, DiffResult] | None:
    """Apply the release; None when nothing changed and no bump was asked for."""
    config = read_release_config(workspace.config)
    last = find_last_release(workspace)
    if config.version < last.version:
        raise ReleaseRefusedError(
            f"release.toml says {config.version}, below the last release {last.version}"
        )
    diff = _diff_against(last, workspace, differ)
    target = _target(last.version, config.version, diff, requested)
    if target is None:
        return None
    changelog = (
        workspace.changelog.read_text(encoding="utf-8")
        if workspace.changelog.exists()
        else new_changelog()
    )
    try:
        changelog = with_release(changelog, str(target), date, diff.changes, config.repository)
    except ChangelogError as err:
        raise ReleaseRefusedError(str(err)) from None
    config_text = workspace.config.read_text(encoding="utf-8")
    writes = {
        workspace.config: _RELEASE_CONFIG_VERSION.sub(f'version = "{target}"', config_text, 1),
        workspace.changelog: changelog,
        workspace.snapshot(target): workspace.spec.read_text(encoding="utf-8"),
    }
    _write_all_then_generate(workspace, writes)
    return target, diff


def _target(
    last: Version, current: Version, diff: DiffResult, requested: Bump | None
) -> Version | None:
    if requested is not None and requested < diff.bump:
        raise ReleaseRefusedError(
            f"--bump {requested.label} is below the {diff.bump.label} bump the changes since "
            f"{last} need" + _listed(required_changes(diff, requested))
        )
    if requested is not None:
        return last.bumped(requested)
    if current > last:  # release.toml was bumped by hand: keep it if it is enough
        if current.bump_from(last) < diff.bump:
            raise ReleaseRefusedError(
                f"release.toml says {current}, but the changes since {last} need a "
                f"{diff.bump.label} bump" + _listed(required_changes(diff, current.bump_from(last)))
            )
        return current
    return None if diff.bump is Bump.NONE else last.bumped(diff.bump)


def _listed(changes: Sequence[Change]) -> str:
    lines = [f"\n  - {c.level} [{c.surface}] {c.rule} at {c.pointer}: {c.message}" for c in changes]
    return ":" + "".join(lines) if lines else "."


def _write_all_then_generate(workspace: Workspace, writes: dict[Path, str]) -> None:
    """Write every file, then regenerate; on any failure put every file back as it was."""
    from .pipeline import generate  # the whole generator, loaded only to release

    before = {path: path.read_bytes() if path.exists() else None for path in writes}
    try:
        for path, text in writes.items():
            _atomic_write(path, text)
        generate(workspace.spec, workspace.generated)
    except BaseException:
        for path, old in before.items():
            if old is None:
                path.unlink(missing_ok=True)
                _remove_empty_parent(path)
            else:
                _atomic_write(path, old.decode("utf-8"))
        raise


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(text)
    os.replace(handle.name, path)


def _remove_empty_parent(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty, or already gone
        path.parent.rmdir()


# --------------------------------------------------------------------------- the command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m codegen.release", description=__doc__)
    parser.add_argument(
        "--bump",
        choices=[b.label for b in Bump if b is not Bump.NONE],
        help="the bump to apply (default: the one the diff needs); a smaller one is refused",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail on an unmatched breaking change"
    )
    parser.add_argument(
        "--date", type=_iso_date, help="the release date in CHANGELOG.md (default: today, UTC)"
    )
    parser.add_argument(
        "--diff-json",
        type=Path,
        help="use this saved `python -m codegen diff --json` output instead of running the diff",
    )
    return parser


def _iso_date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-01-31") from None


def _saved_differ(path: Path) -> Differ:
    def differ(_old: Path, _new: Path) -> DiffResult:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ReleaseRefusedError(f"--diff-json {path}: {err.strerror}") from None
        return parse_diff(text, f"--diff-json {path}")

    return differ


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The generator writes from its own copy's release.toml and templates: the same root.
    workspace = Workspace(Path(__file__).resolve().parent.parent)
    differ = _saved_differ(args.diff_json) if args.diff_json else run_diff
    try:
        if args.check:
            print(check(workspace, differ))
            return 0
        requested = Bump.from_label(args.bump) if args.bump else None
        date = args.date or dt.datetime.now(dt.UTC).date().isoformat()
        done = release(workspace, differ, requested, date)
    except ReleaseRefusedError as err:
        print(f"Refused: {err}", file=sys.stderr)
        return 1
    except (SpecError, GenerationError) as err:
        print(err, file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 2
    if done is None:
        print("No changes since the last release: nothing to release (--bump patch forces one).")
        return 0
    version, diff = done
    print(
        f"Released {version}: {len(diff.changes)} change(s), a {diff.bump.label} bump at least; "
        "wrote release.toml, CHANGELOG.md, the spec snapshot and generated/."
    )
    print(f"Next: review, commit, then `git tag v{version}` and `nox -s publish`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
