"""Releases: the version in release.toml, the CHANGELOG.md section, and the gate on bumps.

Each test works in a copy of the workspace that is a git repository of its own,
with its spec tagged ``v1.0.0``, and runs ``python -m codegen.release`` there
as ``nox -s release`` does. The spec edits are the issue's: the required
``vcsData.projectUrl`` renamed (breaking), an optional field added (additive).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from codegen.changelog import Change, changelog_versions, new_changelog, with_release
from codegen.package_version import Bump, Version
from codegen.release import ReleaseRefusedError, parse_diff, required_changes

ROOT = Path(__file__).resolve().parent.parent
COPIED_FOLDERS = ("codegen", "templates", "runtime", "spec", "generated")
COPIED_FILES = ("release.toml", "CHANGELOG.md", "LICENSE")
REPOSITORY = "https://example.test/northflank-build"
GIT = ["git", "-c", "user.name=Release Test", "-c", "user.email=release@example.test"]
ADDED_FIELD = """        branchFilter:
          type: string
          description: Only build commits of branches whose name starts with this.
          maxLength: 100
"""


def _git(workspace: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=workspace, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def tagged_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace's sources at 1.0.0, committed and tagged ``v1.0.0``; no snapshots."""
    workspace = tmp_path_factory.mktemp("release") / "workspace"
    ignore = shutil.ignore_patterns("node_modules", "dist", "__pycache__", ".mypy_cache")
    for folder in COPIED_FOLDERS:
        shutil.copytree(ROOT / folder, workspace / folder, ignore=ignore)
    for name in COPIED_FILES:
        shutil.copy2(ROOT / name, workspace / name)
    config = workspace / "release.toml"
    text = re.sub(r'^version = ".*"', 'version = "1.0.0"', config.read_text("utf-8"), flags=re.M)
    config.write_text(text, "utf-8")
    changelog = workspace / "CHANGELOG.md"
    changelog.write_text(changelog_at_1_0_0(changelog.read_text("utf-8")), "utf-8")
    _git(workspace, "init", "-q")
    _git(workspace, "add", "-A")
    _git(workspace, "commit", "-q", "-m", "1.0.0")
    _git(workspace, "tag", "v1.0.0")
    return workspace


def changelog_at_1_0_0(text: str) -> str:
    """The project's CHANGELOG.md as it was at 1.0.0: what came after is dropped."""
    head, rest = text.split("## [Unreleased]\n", 1)
    released = rest[rest.index("## [1.0.0]") :]
    links = [
        line
        for line in released.splitlines()
        if line.startswith("[") and "]: " in line and not line.startswith("[1.0.0]")
    ]
    for line in links:
        released = released.replace(line + "\n", "")
    unreleased = f"[Unreleased]: {REPOSITORY_OF_CHANGELOG}/compare/v1.0.0...HEAD\n"
    released = released.replace("\n[1.0.0]: ", "\n" + unreleased + "[1.0.0]: ", 1)
    return head + "## [Unreleased]\n\n" + released


REPOSITORY_OF_CHANGELOG = "https://github.com/northflank-build/northflank-build"
"""The repository the project's CHANGELOG.md links to (release.toml's ``repository``)."""


@pytest.fixture
def workspace(tagged_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the tagged workspace (its .git too), for one test to change."""
    copy = tmp_path / "workspace"
    shutil.copytree(tagged_workspace, copy, symlinks=True)
    return copy


def release(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "codegen.release",
            "--date",
            "2027-01-31",
            *args,
        ],
        cwd=workspace,  # -m puts the copy first on sys.path: its codegen, its release.toml
        env=env,
        capture_output=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


def rename_project_url(workspace: Path) -> None:
    spec = workspace / "spec" / "openapi.yaml"
    spec.write_text(spec.read_text("utf-8").replace("projectUrl", "repositoryUrl"), "utf-8")


def add_optional_field(workspace: Path) -> None:
    spec = workspace / "spec" / "openapi.yaml"
    text = spec.read_text("utf-8")
    anchor = "        selfHostedVcsId:\n"
    assert text.count(anchor) >= 1
    spec.write_text(text.replace(anchor, ADDED_FIELD + anchor, 1), "utf-8")


def package_versions(workspace: Path) -> tuple[str, str, str]:
    """release.toml's version, the generated pyproject's and the generated package.json's."""
    config = tomllib.loads((workspace / "release.toml").read_text("utf-8"))
    pyproject = tomllib.loads((workspace / "generated/python/pyproject.toml").read_text("utf-8"))
    package = json.loads((workspace / "generated/typescript/package.json").read_text("utf-8"))
    return config["version"], pyproject["project"]["version"], package["version"]


def snapshot_of(workspace: Path) -> dict[str, bytes]:
    paths = ["release.toml", "CHANGELOG.md", *map(str, (workspace / "generated").rglob("*"))]
    files = [workspace / p for p in paths]
    return {str(p): p.read_bytes() for p in files if p.is_file()}


# --------------------------------------------------------------------------- against the workspace


def test_a_breaking_edit_releases_a_major_version_with_its_changelog(workspace: Path) -> None:
    rename_project_url(workspace)
    done = release(workspace)
    assert done.returncode == 0, done.stderr
    assert "Released 2.0.0" in done.stdout
    assert package_versions(workspace) == ("2.0.0", "2.0.0", "2.0.0")
    changelog = (workspace / "CHANGELOG.md").read_text("utf-8")
    assert changelog_versions(changelog) == ["2.0.0", "1.0.0"]
    section = changelog.split("## [2.0.0] - 2027-01-31", 1)[1].split("## [1.0.0]", 1)[0]
    breaking = [line for line in section.splitlines() if line.startswith("- **Breaking:**")]
    assert any("projectUrl" in line for line in breaking), section
    assert "compare/v1.0.0...v2.0.0" in changelog
    snapshot = workspace / "releases" / "2.0.0" / "openapi.yaml"
    assert snapshot.read_bytes() == (workspace / "spec" / "openapi.yaml").read_bytes()
    manifest = json.loads((workspace / "generated" / "MANIFEST.json").read_text("utf-8"))
    assert manifest["package"]["version"] == "2.0.0"
    # The spec's info.version is the API's, and a release of the packages leaves it alone.
    assert "\n  version: 1.0.0\n" in (workspace / "spec" / "openapi.yaml").read_text("utf-8")
    # After the release, CI's gate passes: the snapshot is the new last release.
    checked = release(workspace, "--check")
    assert checked.returncode == 0, checked.stderr


def test_a_bump_below_a_breaking_change_is_refused_and_nothing_is_written(
    workspace: Path,
) -> None:
    rename_project_url(workspace)
    before = snapshot_of(workspace)
    done = release(workspace, "--bump", "minor")
    assert done.returncode == 1
    assert "--bump minor is below the major bump" in done.stderr
    assert "breaking" in done.stderr
    assert "projectUrl" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot_of(workspace) == before
    assert not (workspace / "releases").exists()


def test_ci_fails_a_breaking_change_without_a_major_version(workspace: Path) -> None:
    rename_project_url(workspace)
    done = release(workspace, "--check")
    assert done.returncode == 1
    assert "breaking changes since 1.0.0 (tag v1.0.0)" in done.stderr
    assert "projectUrl" in done.stderr


def test_an_additive_edit_proposes_a_minor_release(workspace: Path) -> None:
    add_optional_field(workspace)
    done = release(workspace, "--check")
    assert done.returncode == 0, done.stderr
    assert "needing a minor bump" in done.stdout
    assert "a minor release is pending" in done.stdout


def test_no_change_proposes_none_and_releases_nothing(workspace: Path) -> None:
    before = snapshot_of(workspace)
    checked = release(workspace, "--check")
    assert checked.returncode == 0, checked.stderr
    assert "0 change(s) since 1.0.0 (tag v1.0.0), needing a none bump" in checked.stdout
    done = release(workspace)
    assert done.returncode == 0, done.stderr
    assert "nothing to release" in done.stdout
    assert snapshot_of(workspace) == before


def test_without_tags_the_recorded_snapshot_is_the_last_release(workspace: Path) -> None:
    _git(workspace, "tag", "-d", "v1.0.0")
    snapshot = workspace / "releases" / "1.0.0" / "openapi.yaml"
    snapshot.parent.mkdir(parents=True)
    shutil.copy2(workspace / "spec" / "openapi.yaml", snapshot)
    done = release(workspace, "--check")
    assert done.returncode == 0, done.stderr
    assert "(releases/1.0.0/openapi.yaml)" in done.stdout


def test_no_last_release_at_all_is_a_clear_refusal(workspace: Path) -> None:
    _git(workspace, "tag", "-d", "v1.0.0")
    done = release(workspace, "--check")
    assert done.returncode == 1
    assert "no last release found" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('version = "1.0"\n', "#/version"),
        ("version = 1\n", "#/version"),
        ('version = "1.0.0"\n', "#/links/repository"),
        ('version = "1.0.0"\n[links]\nrepository = "http://x"\n', "#/links/repository"),
        ("version = [\n", "unreadable"),
    ],
)
def test_a_bad_release_toml_is_named_and_nothing_is_written(
    workspace: Path, content: str, named: str
) -> None:
    (workspace / "release.toml").write_text(content, "utf-8")
    done = release(workspace, "--bump", "patch")
    assert done.returncode == 2
    assert "release.toml" in done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- units


def test_versions_bump_and_compare() -> None:
    one = Version.parse("1.4.2")
    assert str(one.bumped(Bump.MAJOR)) == "2.0.0"
    assert str(one.bumped(Bump.MINOR)) == "1.5.0"
    assert str(one.bumped(Bump.PATCH)) == "1.4.3"
    assert Version.parse("2.0.0").bump_from(one) is Bump.MAJOR
    assert Version.parse("1.5.0").bump_from(one) is Bump.MINOR
    assert Version.parse("1.4.3").bump_from(one) is Bump.PATCH
    assert one.bump_from(one) is Bump.NONE
    for bad in ("1.0", "01.0.0", "1.0.0rc1", "1.0.0-rc.1", "v1.0.0"):
        with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.PATCH"):
            Version.parse(bad)


CHANGE = {
    "level": "breaking",
    "rule": "request-property-removed",
    "pointer": "#/components/schemas/VcsData/properties/projectUrl",
    "surface": "wire",
    "message": "vcsData.projectUrl was removed",
}


def test_the_diff_json_is_checked_field_by_field() -> None:
    diff = parse_diff(json.dumps({"bump": "major", "changes": [CHANGE]}), "stub")
    assert diff.bump is Bump.MAJOR
    assert required_changes(diff, Bump.MINOR) == [Change(**CHANGE)]
    # A bump below the changes' own levels is raised to them.
    assert parse_diff(json.dumps({"bump": "none", "changes": [CHANGE]}), "s").bump is Bump.MAJOR
    with pytest.raises(ReleaseRefusedError, match=r"stub: changes\[0\]: .*surface"):
        parse_diff(json.dumps({"bump": "major", "changes": [{**CHANGE, "surface": 3}]}), "stub")
    with pytest.raises(ReleaseRefusedError, match=r"stub: changes\[0\]\.level"):
        parse_diff(json.dumps({"bump": "major", "changes": [{**CHANGE, "level": "x"}]}), "stub")
    with pytest.raises(ReleaseRefusedError, match="stub: bump"):
        parse_diff(json.dumps({"bump": "huge", "changes": []}), "stub")
    with pytest.raises(ReleaseRefusedError, match="stub is not JSON"):
        parse_diff("{", "stub")


def test_a_changelog_section_merges_unreleased_notes_with_the_diff() -> None:
    text = new_changelog() + "\n### Fixed\n\n- The CLI's help wraps at 80 columns.\n"
    surfaces = ("wire", "python", "cli", "typescript")
    changes = [Change(**{**CHANGE, "surface": s}) for s in surfaces]
    changes.append(Change("additive", "request-property-added", "#/x", "wire", "x added"))
    released = with_release(text, "2.0.0", "2027-01-31", changes, REPOSITORY)
    assert released.count("vcsData.projectUrl was removed") == 1  # one entry, four surfaces
    assert "(wire, Python, CLI, TypeScript; `request-property-removed`" in released
    section = released.split("## [2.0.0] - 2027-01-31\n", 1)[1]
    headings = [line for line in section.splitlines() if line.startswith("### ")]
    assert headings == ["### Added", "### Removed", "### Fixed"]
    assert "- The CLI's help wraps at 80 columns." in section
    assert released.index("## [Unreleased]") < released.index("## [2.0.0]")
    assert released.endswith(
        f"[Unreleased]: {REPOSITORY}/compare/v2.0.0...HEAD\n"
        f"[2.0.0]: {REPOSITORY}/releases/tag/v2.0.0\n"
    )
    again = with_release(released, "2.1.0", "2027-02-01", [], REPOSITORY)
    assert changelog_versions(again) == ["2.1.0", "2.0.0"]
    assert f"[2.1.0]: {REPOSITORY}/compare/v2.0.0...v2.1.0" in again
    assert again.count("[Unreleased]:") == 1
