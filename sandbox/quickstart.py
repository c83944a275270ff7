"""`python -m sandbox quickstart`: serve the sandbox and hand over the exports a first try needs.

    python -m sandbox quickstart                  # .sandbox/sandbox.db, .sandbox/env, port 8080
    python -m sandbox quickstart --port 9000 --rate-limit off   # any `serve` option

It is `serve`, plus one step once the server listens: a token with the four
service permissions (read, create, update, delete) in the project is made, and
the three variables the README's examples read are printed as `export` lines and
written to a file that a fresh shell can `source`. The file's first line names
the token's id; the next quickstart on the same file revokes that token once it
has made its own, so a database started many times holds one live quickstart
token, not one per start. The token is made only then,
in a database `serve` has set up, so a start that cannot listen leaves no token
and no stale file behind it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, TextIO

from sandbox.cli import DEFAULT_PROJECT
from sandbox.cli import main as sandbox_main
from sandbox.tokens import CREATE_SERVICE, DELETE_SERVICE, READ_SERVICE, UPDATE_SERVICE

__all__ = ["COMMAND", "EXAMPLE_PERMISSIONS", "main"]

COMMAND: Final = "quickstart"
DEFAULT_DB: Final = Path(".sandbox") / "sandbox.db"
EXAMPLE_PERMISSIONS: Final = (READ_SERVICE, CREATE_SERVICE, UPDATE_SERVICE, DELETE_SERVICE)
"""What the README's examples do: put, get, list, patch, delete and create."""
_LISTENING: Final = re.compile(r"Listening on (http://\S+)")
_CREATED: Final = re.compile(r"Created token (tok_[0-9a-f]+)")
_HEADER_WORDS: Final = "python -m sandbox quickstart: token"
_WRITTEN: Final = re.compile(re.escape(f"# {_HEADER_WORDS} ") + r"(tok_[0-9a-f]+);")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, serve_options = parser.parse_known_args(argv)
    if any(option in ("-h", "--help") for option in serve_options):
        parser.print_help()
        return 0
    db: Path = args.db
    env_file: Path = args.env_file or db.with_name("env")
    db.parent.mkdir(parents=True, exist_ok=True)
    env_file.parent.mkdir(parents=True, exist_ok=True)

    def hand_over(base_url: str) -> None:
        previous = _token_id_in(env_file)
        token_id, token = _mint_token(db, args.project)
        _write_env_file(env_file, _header(token_id) + _exports(base_url, token, args.project))
        if previous is not None:
            _revoke_quietly(db, previous)
        _announce(env_file, _exports(base_url, token, args.project))

    real_stdout = sys.stdout
    sys.stdout = _OnListening(real_stdout, hand_over)
    try:
        return sandbox_main(["serve", "--db", str(db), *serve_options])
    finally:
        sys.stdout = real_stdout


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m sandbox {COMMAND}",
        description="Serve the sandbox; once it listens, print the exports the README's"
        " examples need and write them to a file to `source`. Every other option is"
        " `serve`'s (python -m sandbox serve --help).",
        add_help=False,
    )
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help=f"the SQLite file (default {DEFAULT_DB})"
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        help="where to write the exports (default: `env` beside the database)",
    )
    parser.add_argument(
        "--project",
        default=DEFAULT_PROJECT,
        help=f"the project the token belongs to (default {DEFAULT_PROJECT})",
    )
    return parser


class _OnListening(io.TextIOBase):
    """Standard output that calls ``then(base_url)`` once, after `serve`'s "Listening on" line.

    `serve` prints that line when its socket listens and the database is set up, and
    before it blocks in the server: the one moment a token can be made and be of use.
    """

    def __init__(self, stream: TextIO, then: Callable[[str], None]) -> None:
        super().__init__()
        self._stream = stream
        self._then: Callable[[str], None] | None = then
        self._line = ""

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        if self._then is not None:
            self._line += text
            if match := _LISTENING.search(self._line):
                then, self._then = self._then, None
                self._stream.flush()
                then(match[1])
            elif "\n" in self._line:
                self._line = self._line.rsplit("\n", 1)[1]
        return written

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()


def _mint_token(db: Path, project: str) -> tuple[str, str]:
    """A token for the examples, made by `token create` itself: its id and its text.
    Its error ends the start."""
    command = ["token", "create", "--db", str(db), "--project", project, "--label", COMMAND]
    for permission in EXAMPLE_PERMISSIONS:
        command += ["--permission", permission]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = sandbox_main(command)
    if status != 0:
        print(err.getvalue().rstrip() or f"error: token create exited {status}", file=sys.stderr)
        raise SystemExit(status)
    made = _CREATED.search(err.getvalue())
    if made is None:  # `token create` always names the id; a change there must show here
        raise SystemExit(f"error: token create did not name its token: {err.getvalue()!r}")
    return made[1], out.getvalue().strip()


def _header(token_id: str) -> str:
    return f"# {_HEADER_WORDS} {token_id}; the next quickstart revokes it\n"


def _token_id_in(env_file: Path) -> str | None:
    """The id of the token an earlier quickstart wrote to ``env_file``, if it did."""
    try:
        with env_file.open(encoding="utf-8", errors="replace") as lines:
            first = lines.readline(200)
    except OSError:  # none yet, or unreadable: nothing to revoke
        return None
    match = _WRITTEN.match(first)
    return match[1] if match else None


def _revoke_quietly(db: Path, token_id: str) -> None:
    """Revoke the token an earlier quickstart made, so tokens do not pile up in the
    database; one revoked by hand already, or made in another database, is left be."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        sandbox_main(["token", "revoke", "--db", str(db), token_id])


def _exports(base_url: str, token: str, project: str) -> str:
    values = {
        "NORTHFLANK_BASE_URL": base_url,
        "NORTHFLANK_API_TOKEN": token,
        "NORTHFLANK_PROJECT_ID": project,
    }
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())


def _write_env_file(path: Path, text: str) -> None:
    """Replace ``path`` whole (never half-written), readable by its owner only: it holds a token."""
    handle, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as staged_file:
            staged_file.write(text)
        os.chmod(staged, 0o600)
        os.replace(staged, path)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise


def _announce(env_file: Path, exports: str) -> None:
    print(
        f"\nA token for the examples (read, create, update, delete), in {env_file}."
        f" In another shell:\n\n  source {shlex.quote(str(env_file))}\n\nor paste:\n\n"
        + "".join(f"  {line}\n" for line in exports.splitlines())
        + "\nCtrl-C stops the sandbox; its data stays for the next start.\n",
        flush=True,
    )
