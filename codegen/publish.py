"""``python -m codegen.publish``: upload both packages of one release, or refuse before either.

Everything that can refuse is checked before the first upload: ``generated/``
is what the spec makes (a drifted tree would publish code no commit holds),
CHANGELOG.md has the version's section, the three artefacts of this version are
in the dist folder, and the registries do not have the version yet (registries
keep a version forever, so a second upload is always a mistake). Then the wheel
and sdist go up with twine and the tarball with ``npm publish``.

A publish that stops half-way (twine done, ``npm publish`` refused) is finished
by running it again: a registry that already has the version with exactly the
dist folder's files (sha256 on the index's links, the packument's integrity) is
skipped, and only the other gets its upload. Other files under the same version
are refused. Credentials are the tools' own: ``TWINE_USERNAME``/``TWINE_PASSWORD``
and the npm config's ``//host/:_authToken``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .changelog import changelog_versions
from .issues import GenerationError, SpecError
from .package_version import read_package_version

__all__ = [
    "Artefacts",
    "PublishRefusedError",
    "Uploads",
    "main",
    "npm_dist",
    "npm_has_version",
    "plan_uploads",
    "pypi_files",
    "pypi_has_version",
]

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "northflank-build"
WHEEL_STEM = "northflank_build"
_TIMEOUT = 60.0
_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


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


def pypi_files(simple_url: str, version: str) -> dict[str, str | None]:
    """The files of ``version`` the index's PEP 503 page links: name -> sha256 (hex), or
    None where the link carries no sha256 fragment."""
    page = _get(f"{simple_url.rstrip('/')}/{DISTRIBUTION}/", "the PyPI index")
    if page is None:
        return {}
    prefixes = (f"{WHEEL_STEM}-{version}-", f"{WHEEL_STEM}-{version}.tar.gz")
    files: dict[str, str | None] = {}
    for link in _HREF.findall(page):
        location, _, fragment = html.unescape(link).partition("#")
        name = urllib.parse.unquote(urllib.parse.urlsplit(location).path.rsplit("/", 1)[-1])
        if name.startswith(prefixes):
            algorithm, _, digest = fragment.partition("=")
            files[name] = digest.lower() if algorithm == "sha256" and digest else None
    return files


def pypi_has_version(simple_url: str, version: str) -> bool:
    """Whether the index's PEP 503 page for the project links a file of ``version``."""
    return bool(pypi_files(simple_url, version))


def npm_dist(registry: str, version: str) -> dict[str, Any] | None:
    """The ``dist`` record (integrity, shasum, tarball) of ``version`` in the npm
    registry's packument; None when the registry does not have that version."""
    body = _get(f"{registry.rstrip('/')}/{DISTRIBUTION}", "the npm registry")
    if body is None:
        return None
    try:
        versions = json.loads(body).get("versions", {})
    except (json.JSONDecodeError, AttributeError):
        raise PublishRefusedError(
            f"the npm registry {registry} answered with no package document"
        ) from None
    if not isinstance(versions, dict) or version not in versions:
        return None
    record = versions[version]
    dist = record.get("dist") if isinstance(record, dict) else None
    return dist if isinstance(dist, dict) else {}


def npm_has_version(registry: str, version: str) -> bool:
    """Whether the npm registry's packument for the package lists ``version``."""
    return npm_dist(registry, version) is not None


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


@dataclass(frozen=True)
class Uploads:
    """Which registries still need this version: both, or one when an earlier publish
    stopped half-way (the other holds exactly the files in the dist folder)."""

    pypi: bool
    npm: bool


def plan_uploads(
    pypi_simple: str, npm_registry: str, version: str, artefacts: Artefacts | None
) -> Uploads:
    """What to upload, or a refusal: a version on both registries, or on one with other
    files than ours, is never uploaded again (registries keep a version forever).

    A version on one registry only is what a publish that failed half-way leaves
    behind (twine done, ``npm publish`` refused, say). When that registry's files are
    byte for byte the ones in the dist folder, the same command finishes the job (the
    builds are reproducible, so building again gives those bytes). With ``artefacts``
    None (preflight, before the build) that comparison is left to the upload run.
    """
    on_pypi = pypi_files(pypi_simple, version)
    on_npm = npm_dist(npm_registry, version)
    if on_pypi and on_npm is not None:
        raise PublishRefusedError(
            f"{DISTRIBUTION} {version} already exists on the PyPI index {pypi_simple} and the"
            f" npm registry {npm_registry}: a published version never changes; cut a new one"
            " with `nox -s release`"
        )
    if not on_pypi and on_npm is None:
        return Uploads(pypi=True, npm=True)
    where = f"the PyPI index {pypi_simple}" if on_pypi else f"the npm registry {npm_registry}"
    uploads = Uploads(pypi=not on_pypi, npm=on_npm is None)
    if artefacts is None:
        return uploads
    if on_npm is None:
        differences = _pypi_differences(on_pypi, artefacts)
    else:
        differences = _npm_differences(on_npm, artefacts)
    if differences:
        raise PublishRefusedError(
            f"{DISTRIBUTION} {version} is on {where} with other files than"
            f" {artefacts.wheel.parent}: {'; '.join(differences)}. A published version never"
            " changes; cut a new one with `nox -s release`"
        )
    return uploads


def _pypi_differences(files: dict[str, str | None], artefacts: Artefacts) -> list[str]:
    found = []
    for path in (artefacts.wheel, artefacts.sdist):
        if path.name not in files:
            found.append(f"{path.name} is not there")
        elif files[path.name] is None:
            found.append(f"the index gives no sha256 for {path.name} to compare")
        elif files[path.name] != hashlib.sha256(path.read_bytes()).hexdigest():
            found.append(f"{path.name} differs")
    found += [
        f"{name} is there too"
        for name in sorted(set(files) - {artefacts.wheel.name, artefacts.sdist.name})
    ]
    return found


def _npm_differences(dist: dict[str, Any], artefacts: Artefacts) -> list[str]:
    content = artefacts.tarball.read_bytes()
    integrity = dist.get("integrity")
    if isinstance(integrity, str) and integrity.startswith("sha512-"):
        ours = "sha512-" + base64.b64encode(hashlib.sha512(content).digest()).decode()
        return [] if integrity == ours else [f"{artefacts.tarball.name} differs"]
    shasum = dist.get("shasum")
    if isinstance(shasum, str):
        same = shasum.lower() == hashlib.sha1(content, usedforsecurity=False).hexdigest()
        return [] if same else [f"{artefacts.tarball.name} differs"]
    return [f"the registry gives no digest for {artefacts.tarball.name} to compare"]


# --------------------------------------------------------------------------- the uploads


def upload(
    artefacts: Artefacts, pypi_url: str, npm_registry: str, uploads: Uploads = Uploads(True, True)
) -> None:
    if uploads.pypi:
        _run(
            "twine",
            [sys.executable, "-m", "twine", "upload", "--non-interactive",
             "--disable-progress-bar", "--repository-url", pypi_url, str(artefacts.wheel),
             str(artefacts.sdist)],
        )  # fmt: skip
    else:
        print("twine: skipped, the wheel and sdist are on the PyPI index already (same files)")
    if uploads.npm:
        _run(
            "npm publish",
            ["npm", "publish", str(artefacts.tarball), "--registry", npm_registry,
             "--ignore-scripts", "--loglevel", "warn"],
            after="the wheel and sdist are on the PyPI index; run the same publish again to"
            " upload the tarball: it finds them there, the same files, and skips them",
        )  # fmt: skip
    else:
        print("npm publish: skipped, the tarball is on the npm registry already (same file)")


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
        artefacts = Artefacts.in_folder(args.dist, version) if not args.preflight else None
        uploads = plan_uploads(simple, args.npm_registry, version, artefacts)
        if artefacts is None:
            if uploads.pypi and uploads.npm:
                print(f"{DISTRIBUTION} {version} can be published.")
            else:
                done, left = ("PyPI", "npm") if uploads.npm else ("npm", "PyPI")
                print(
                    f"{DISTRIBUTION} {version} is on {done} only, as a publish that stopped"
                    f" half-way leaves it: once built, it goes to {left} if the build gives"
                    f" the files {done} has."
                )
            return 0
        upload(artefacts, args.pypi_url, args.npm_registry, uploads)
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
