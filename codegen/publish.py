"""``python -m codegen.publish``: upload both packages of one release, or refuse before either.

Everything that can refuse is checked before the first upload: ``generated/``
is what the spec makes (a drifted tree would publish code no commit holds),
CHANGELOG.md has the version's section, the three artefacts of this version are
in the dist folder, and neither registry has the version yet (registries keep
a version forever, so a second upload is always a mistake). Then the wheel and
sdist go up with twine and the tarball with ``npm publish``. Credentials are
the tools' own: ``TWINE_USERNAME``/``TWINE_PASSWORD`` and the npm config's
``//host/:_authToken``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .changelog import changelog_versions
from .issues import GenerationError, SpecError
from .package_version import read_package_version

__all__ = ["Artefacts", "PublishRefusedError", "main", "npm_has_version", "pypi_has_version"]

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "northflank-build"
WHEEL_STEM = "northflank_build"
_TIMEOUT = 60.0


class PublishRefusedError(Exception):
    """Publishing would be wrong or could not finish; the message says which and why."""


@dataclass(frozen=True)
class Artefacts:
    wheel: Path
    sdist: Path
    tarball: Path

    @classmethod
    def in_folder(cls, dist: Path, version: str) -> Artefacts:
        found = cls(
            wheel=dist / f"{WHEEL_STEM}-{version}-py3-none-any.whl",
            sdist=dist / f"{WHEEL_STEM}-{version}.tar.gz",
            tarball=dist / f"{DISTRIBUTION}-{version}.tgz",
        )
        missing = [p.name for p in (found.wheel, found.sdist, found.tarball) if not p.is_file()]
        if missing:
            raise PublishRefusedError(
                f"--dist {dist}: missing {', '.join(missing)} (run `nox -s build` first)"
            )
        return found


# --------------------------------------------------------------------------- the checks


def check_generated_is_current() -> None:
    from .pipeline import check  # the whole generator, loaded only for this check

    stale = check(ROOT / "spec" / "openapi.yaml", ROOT / "generated")
    if stale:
        listed = "".join(f"\n  {line}" for line in stale)
        raise PublishRefusedError(
            f"generated/ drifts from the spec and templates; run `nox -s codegen`:{listed}"
        )


def check_changelog(version: str) -> None:
    changelog = ROOT / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8") if changelog.is_file() else ""
    if version not in changelog_versions(text):
        raise PublishRefusedError(
            f"CHANGELOG.md has no `## [{version}]` section: run `nox -s release` first"
        )


def pypi_has_version(simple_url: str, version: str) -> bool:
    """Whether the index's PEP 503 page for the project links a file of ``version``."""
    page = _get(f"{simple_url.rstrip('/')}/{DISTRIBUTION}/", "the PyPI index")
    if page is None:
        return False
    prefixes = (f"{WHEEL_STEM}-{version}-", f"{WHEEL_STEM}-{version}.tar.gz")
    return any(prefix in page for prefix in prefixes)


def npm_has_version(registry: str, version: str) -> bool:
    """Whether the npm registry's packument for the package lists ``version``."""
    body = _get(f"{registry.rstrip('/')}/{DISTRIBUTION}", "the npm registry")
    if body is None:
        return False
    try:
        versions = json.loads(body).get("versions", {})
    except (json.JSONDecodeError, AttributeError):
        raise PublishRefusedError(
            f"the npm registry {registry} answered with no package document"
        ) from None
    return isinstance(versions, dict) and version in versions


def _get(url: str, what: str) -> str | None:
    """The page's text; None for 404, which is how both registries say "no such package"."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise PublishRefusedError(f"{what}: {url} is not an http(s) URL")
    # The scheme is checked just above: no file: or custom ones reach urlopen.
    request = urllib.request.Request(url, headers={"Accept": "text/html, application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            return bytes(response.read()).decode("utf-8", errors="replace")
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise PublishRefusedError(f"{what} answered {err.code} for {url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise PublishRefusedError(f"{what} cannot be reached at {url}: {err}") from None


def check_not_published(pypi_simple: str, npm_registry: str, version: str) -> None:
    taken = []
    if pypi_has_version(pypi_simple, version):
        taken.append(f"the PyPI index {pypi_simple}")
    if npm_has_version(npm_registry, version):
        taken.append(f"the npm registry {npm_registry}")
    if taken:
        raise PublishRefusedError(
            f"{DISTRIBUTION} {version} already exists on {' and '.join(taken)}: a published "
            "version never changes; cut a new one with `nox -s release`"
        )


# --------------------------------------------------------------------------- the uploads


def upload(artefacts: Artefacts, pypi_url: str, npm_registry: str) -> None:
    _run(
        "twine",
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", pypi_url, str(artefacts.wheel), str(artefacts.sdist)],
    )  # fmt: skip
    _run(
        "npm publish",
        ["npm", "publish", str(artefacts.tarball), "--registry", npm_registry,
         "--ignore-scripts", "--loglevel", "warn"],
        after="the wheel and sdist are on PyPI; publish the tarball by hand with `npm publish`",
    )  # fmt: skip


def _run(what: str, command: list[str], after: str = "") -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, encoding="utf-8", timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise PublishRefusedError(f"{what} could not run: {err}") from None
    if done.returncode != 0:
        note = f"\n({after})" if after else ""
        raise PublishRefusedError(
            f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr).strip()}{note}"
        )
    print(f"{what}: done")


# --------------------------------------------------------------------------- the command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m codegen.publish", description=__doc__)
    parser.add_argument("--pypi-url", required=True, help="twine's upload URL (--repository-url)")
    parser.add_argument(
        "--pypi-simple-url",
        help="the index's PEP 503 pages, to see whether the version exists "
        "(default: --pypi-url + /simple/)",
    )
    parser.add_argument("--npm-registry", required=True, help="the npm registry's URL")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="the built artefacts")
    parser.add_argument(
        "--preflight",
        action="store_true",
        help="only check (drift, changelog, registries); build and upload nothing",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    simple = args.pypi_simple_url or f"{args.pypi_url.rstrip('/')}/simple/"
    try:
        version = str(read_package_version())
        check_generated_is_current()
        check_changelog(version)
        check_not_published(simple, args.npm_registry, version)
        if args.preflight:
            print(f"{DISTRIBUTION} {version} can be published.")
            return 0
        artefacts = Artefacts.in_folder(args.dist, version)
        upload(artefacts, args.pypi_url, args.npm_registry)
    except PublishRefusedError as err:
        print(f"Refused: {err}", file=sys.stderr)
        return 1
    except (SpecError, GenerationError) as err:
        print(err, file=sys.stderr)
        return 2
    print(f"Published {DISTRIBUTION} {version} to {args.pypi_url} and {args.npm_registry}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
