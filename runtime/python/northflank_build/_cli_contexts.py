"""Named contexts for the ``nf-build`` CLI: an API token, a base URL and a default project each.

They live in one JSON file (``default_config_path()``), readable by its owner only since it
holds tokens, and written atomically so that a crash never leaves half a file::

    {"version": 1, "current": "dev",
     "contexts": {"dev": {"token": "...", "baseUrl": "https://...", "projectId": "..."}}}

Only the standard library and click are imported here: the CLI must start fast.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final, TypeVar
from urllib.parse import urlsplit

import click

__all__ = [
    "CONFIG_ENV",
    "MAX_CONTEXTS_FILE_BYTES",
    "Context",
    "ContextError",
    "Contexts",
    "context_commands",
    "default_config_path",
    "load_contexts",
    "resolve_context",
    "save_contexts",
    "token_problem",
    "url_problem",
]

CONFIG_ENV: Final = "NF_BUILD_CONFIG"
"""The full path of the contexts file; overrides the default location."""

_VERSION: Final = 1
_NAME: Final = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,63}")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOP_KEYS: Final = ("version", "current", "contexts")
_FIELDS: Final = {"token": "token", "baseUrl": "base_url", "projectId": "project_id"}
"""The keys of one context in the file, by the ``Context`` attribute each holds."""
_PRIVATE_FILE: Final = 0o600
_PRIVATE_DIR: Final = 0o700
_POSIX: Final = os.name != "nt"
_BINARY: Final = getattr(os, "O_BINARY", 0)
_FROM_STDIN: Final = "-"
"""``--token -``: read the token from stdin."""
_EMPTY_HINT: Final = "Add one with: nf-build context add NAME --token TOKEN"
_MIN_PARTIAL_TOKEN: Final = 20
"""Shorter tokens are redacted whole: five plus four characters would give most of them away."""
MAX_CONTEXTS_FILE_BYTES: Final = 1024 * 1024
"""A contexts file holds a few short strings; a bigger one is refused unread."""
_TOKEN_CHARACTERS: Final = re.compile(r"[\x21-\x7e]+")
"""What a token may hold: visible ASCII, as an HTTP header carries it unchanged."""


def default_config_path() -> Path:
    """``$NF_BUILD_CONFIG``, else ``$XDG_CONFIG_HOME/nf-build/config.json`` (only if that is set
    and absolute, as the XDG spec asks), else ``~/.config/nf-build/config.json``."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "nf-build" / "config.json"


@dataclass(frozen=True)
class Context:
    """One named context; ``None`` means unset (the client's default applies)."""

    name: str
    token: str | None = None
    base_url: str | None = None
    project_id: str | None = None


@dataclass(frozen=True)
class Contexts:
    """The whole file: the current context's name, and every context by name, in file order."""

    current: str | None
    contexts: Mapping[str, Context]


class ContextError(click.ClickException):
    """A contexts file that cannot be read or written, or a context that does not exist.

    click prints it as ``Error: ...`` on stderr and exits with status 2."""

    exit_code: ClassVar[int] = 2


# --- The file -----------------------------------------------------------------


def load_contexts(path: Path) -> Contexts:
    """The contexts in ``path``; none (``Contexts(None, {})``) if the file does not exist.

    Raises ``ContextError`` if it cannot be read, is readable by others (POSIX), is not JSON,
    or does not have the expected shape; the message names the file and, for shape errors,
    the JSON path."""
    try:
        fd = os.open(path, os.O_RDONLY | _BINARY)
    except FileNotFoundError:
        return Contexts(None, {})
    except OSError as error:
        raise ContextError(f"cannot read {path}: {_reason(error)}") from None
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if _POSIX and mode & 0o077:
            quoted = shlex.quote(str(path))
            raise ContextError(
                f"{path} is readable by others (mode {mode:04o}); run chmod 600 {quoted}"
            )
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ContextError(f"cannot read {path}: it is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            raw = file.read(MAX_CONTEXTS_FILE_BYTES + 1)
    except OSError as error:
        raise ContextError(f"cannot read {path}: {_reason(error)}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_CONTEXTS_FILE_BYTES:
        raise ContextError(f"{path} is larger than {MAX_CONTEXTS_FILE_BYTES} bytes")
    return _parse(path, _decoded(path, raw))


def _decoded(path: Path, raw: bytes) -> object:
    """The file's JSON, read by the same strict reader as request bodies: duplicate keys,
    ``NaN``, integers too long to convert and nesting too deep are refused, by JSON path."""
    from northflank_build._cli_documents import DocumentError, parse_json

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContextError(f"{path} is not UTF-8 (byte {error.start})") from None
    try:
        return parse_json(text, source=str(path))
    except DocumentError as error:
        raise ContextError(
            f"{path} is not valid JSON: {str(error).removeprefix(f'{path}: ')}"
        ) from None


def save_contexts(path: Path, contexts: Contexts) -> None:
    """Write ``contexts`` to ``path`` atomically, mode 0600 whatever the umask.

    A temporary file in the same directory is written and synced, then renamed over ``path``
    and the directory synced; a missing directory is created with mode 0700. If ``path`` is
    a symlink, the file it points to is replaced."""
    document = _document(contexts)
    try:
        _parse(path, document)  # what could not be read back is not written
    except ContextError as error:
        raise ContextError(f"refusing to write {error.message}") from None
    for name, context in contexts.contexts.items():
        if context.name != name:
            raise ContextError(
                f"refusing to write {path}: context {context.name!r} is filed as {name!r}"
            )
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    target = Path(os.path.realpath(path))
    try:
        _make_directory(target.parent)
        _write_atomically(target, data)
    except OSError as error:
        raise ContextError(f"cannot write {path}: {_reason(error)}") from None


def resolve_context(path: Path, name: str | None) -> Context | None:
    """The context called ``name`` (``ContextError`` listing the known names if there is
    none), else the current context, else ``None``."""
    contexts = load_contexts(path)
    if name is not None:
        return _lookup(path, contexts, name)
    if contexts.current is None:
        return None
    return contexts.contexts[contexts.current]


def _document(contexts: Contexts) -> dict[str, Any]:
    return {
        "version": _VERSION,
        "current": contexts.current,
        "contexts": {
            name: {
                key: getattr(context, attribute)
                for key, attribute in _FIELDS.items()
                if getattr(context, attribute) is not None
            }
            for name, context in contexts.contexts.items()
        },
    }


def _parse(path: Path, document: object) -> Contexts:
    """Check the shape of a decoded file; every error names the file and the JSON path."""

    def fail(where: str, message: str) -> ContextError:
        return ContextError(f"{path}: {where}: {message}")

    top = _object(document, "$", fail)
    _no_unknown_keys(top, _TOP_KEYS, "$", fail)
    if "version" not in top:
        raise fail("$.version", f"missing (expected {_VERSION})")
    version = top["version"]
    if type(version) is not int:
        raise fail("$.version", f"expected the integer {_VERSION}, got {_json_type(version)}")
    if version != _VERSION:
        raise fail("$.version", f"unsupported version {version}; this nf-build reads {_VERSION}")
    contexts: dict[str, Context] = {}
    for name, value in _object(top.get("contexts", {}), "$.contexts", fail).items():
        where = "$.contexts" + _step(name)
        if not _NAME.fullmatch(name):
            raise fail(where, _name_problem(name))
        fields = _object(value, where, fail)
        _no_unknown_keys(fields, tuple(_FIELDS), where, fail)
        values: dict[str, str | None] = {}
        for key, attribute in _FIELDS.items():
            field = fields.get(key)
            if field is not None and not isinstance(field, str):
                raise fail(f"{where}.{key}", f"expected a string or null, got {_json_type(field)}")
            problem = _field_problem(key, field)
            if problem is not None:
                raise fail(f"{where}.{key}", problem)
            values[attribute] = field
        contexts[name] = Context(name, **values)
    current = top.get("current")
    if current is not None:
        if not isinstance(current, str):
            raise fail("$.current", f"expected a string or null, got {_json_type(current)}")
        if current not in contexts:
            raise fail("$.current", f"no context named {current!r} in $.contexts")
    return Contexts(current, contexts)


def _object(
    value: object, where: str, fail: Callable[[str, str], ContextError]
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise fail(where, f"expected an object, got {_json_type(value)}")
    return value


def _no_unknown_keys(
    value: Mapping[str, object],
    known: tuple[str, ...],
    where: str,
    fail: Callable[[str, str], ContextError],
) -> None:
    for key in value:
        if key not in known:
            raise fail(where + _step(key), f"unknown key (expected one of {', '.join(known)})")


def _field_problem(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value:
        return "empty (leave it out instead)"
    if key == "baseUrl":
        return url_problem(value)
    if key == "token":
        return token_problem(value)
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a base URL, or ``None``: http(s), a host, a port if any."""
    if not url.lower().startswith(("http://", "https://")):
        return f"base URL {url!r} must start with http:// or https://"
    if any(character.isspace() or not character.isprintable() for character in url):
        return f"base URL {url!r} has a space or a control character"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as error:
        return f"base URL {url!r} is not a valid URL: {_lower(str(error))}"
    if not parts.hostname:
        return f"base URL {url!r} has no host"
    return None


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent, or ``None``; the message never holds the token."""
    if _TOKEN_CHARACTERS.fullmatch(token):
        return None
    position, character = next(
        (i, c) for i, c in enumerate(token) if not _TOKEN_CHARACTERS.fullmatch(c)
    )
    shown = f"U+{ord(character):04X}"
    return (
        f"the token has a character an HTTP header cannot carry ({shown}, at position "
        f"{position + 1} of {len(token)}): only visible ASCII, no spaces or control characters"
    )


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _name_problem(name: str) -> str:
    return (
        f"invalid context name {name!r}: use 1-64 characters from A-Z, a-z, 0-9, '.', '_' "
        "and '-', not starting with '-'"
    )


def _step(key: str) -> str:
    """One step of a JSON path: ``.dev``, or ``["my-context"]`` when it is not an identifier."""
    if _IDENTIFIER.fullmatch(key):
        return f".{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'["{escaped}"]'


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _make_directory(directory: Path) -> None:
    """Create ``directory`` with mode 0700 if it is missing; an existing one is left alone."""
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=_PRIVATE_DIR)
    except FileExistsError:
        return
    if _POSIX:
        os.chmod(directory, _PRIVATE_DIR)  # the umask may have taken bits away


def _write_atomically(target: Path, data: bytes) -> None:
    import secrets  # only a write needs it: not loaded on a command's way to the request

    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, _PRIVATE_FILE)
    try:
        try:
            if _POSIX:
                os.fchmod(fd, _PRIVATE_FILE)  # a umask such as 0277 takes bits away
            with os.fdopen(fd, "wb", closefd=False) as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if _POSIX:
        _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable; filesystems that cannot sync a directory are let be."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _lookup(path: Path, contexts: Contexts, name: str) -> Context:
    context = contexts.contexts.get(name)
    if context is None:
        raise ContextError(f"no context named {name!r} in {path} ({_known(contexts)})")
    return context


def _known(contexts: Contexts) -> str:
    if not contexts.contexts:
        return f"it has none. {_EMPTY_HINT}"
    return "known: " + ", ".join(contexts.contexts)


# --- The commands ---------------------------------------------------------------

_F = TypeVar("_F", bound=Callable[..., Any])


def _config_option(function: _F) -> _F:
    option = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default_config_path,
        envvar=CONFIG_ENV,
        hidden=True,
        help="The contexts file.",
    )
    return option(function)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ContextError(_name_problem(name))


def _stdin_is_interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # no stdin, or a closed one
        return False


def _read_token(name: str, token: str | None) -> str | None:
    """``--token`` as given; ``-`` reads the first line of stdin (or asks, hidden, on a
    terminal, so that the token is not echoed); left out, asks on a terminal, else none."""
    interactive = _stdin_is_interactive()
    if token == _FROM_STDIN and not interactive:
        line = sys.stdin.readline().strip()
        if not line:
            raise ContextError("--token -: no token on the first line of standard input")
        return line
    if token == _FROM_STDIN or (token is None and interactive):
        optional = token is None
        typed: str = click.prompt(
            f"API token for {name}" + (" (Enter for none)" if optional else ""),
            default="" if optional else None,
            hide_input=True,
            show_default=False,
            err=True,  # stdout may be redirected; the question still reaches the user
        )
        return typed.strip() or None
    if token == "":
        raise ContextError("--token is empty; leave it out for no token")
    return token


@click.command("add")
@click.argument("name")
@click.option("--token", metavar="TOKEN", help="The API token; '-' reads it from stdin.")
@click.option("--base-url", metavar="URL", help="The API's base URL (http:// or https://).")
@click.option("--project-id", metavar="ID", help="The project used when none is given.")
@click.option("--use", is_flag=True, help="Make it the current context.")
@_config_option
def _add(
    name: str,
    token: str | None,
    base_url: str | None,
    project_id: str | None,
    use: bool,
    config_path: Path,
) -> None:
    """Add context NAME, or replace it if it exists.

    Without --token, the token is asked for (hidden) on a terminal and left out otherwise;
    --token - reads it from the first line of stdin, keeping it out of shell history.
    The first context added becomes the current one."""
    _check_name(name)
    if base_url is not None:
        problem = url_problem(base_url)
        if problem is not None:
            raise ContextError(f"--base-url: {problem}")
    if project_id == "":
        raise ContextError("--project-id is empty; leave it out for no default project")
    contexts = load_contexts(config_path)  # before asking for a token: it may not be readable
    given_token = _read_token(name, token)
    problem = None if given_token is None else token_problem(given_token)
    if problem is not None:
        raise ContextError(f"--token: {problem}")
    context = Context(name, given_token, base_url, project_id)
    replaced = name in contexts.contexts
    current = name if use or not contexts.contexts else contexts.current
    save_contexts(config_path, Contexts(current, {**contexts.contexts, name: context}))
    click.echo(f"{'Updated' if replaced else 'Added'} context {name}")
    if current != contexts.current:
        click.echo(f"Switched to context {name}")


@click.command("use")
@click.argument("name")
@_config_option
def _use(name: str, config_path: Path) -> None:
    """Make NAME the current context."""
    contexts = load_contexts(config_path)
    _lookup(config_path, contexts, name)
    if contexts.current != name:
        save_contexts(config_path, Contexts(name, contexts.contexts))
    click.echo(f"Switched to context {name}")


@click.command("list")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="The output format.",
)
@_config_option
def _list(output: str, config_path: Path) -> None:
    """List the contexts; tokens are shown redacted."""
    contexts = load_contexts(config_path)
    if output == "json":
        rows = [
            {
                "name": context.name,
                "current": context.name == contexts.current,
                "baseUrl": context.base_url,
                "projectId": context.project_id,
                "token": None if context.token is None else _redact(context.token),
            }
            for context in contexts.contexts.values()
        ]
        document = {"current": contexts.current, "contexts": rows}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    if not contexts.contexts:
        click.echo(f"No contexts. {_EMPTY_HINT}")
        return
    table = [("CURRENT", "NAME", "BASE URL", "PROJECT", "TOKEN")]
    table += [
        (
            "*" if context.name == contexts.current else "",
            context.name,
            context.base_url or "(default)",
            context.project_id or "(none)",
            "(none)" if context.token is None else _redact(context.token),
        )
        for context in contexts.contexts.values()
    ]
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    for row in table:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@click.command("remove")
@click.argument("name")
@_config_option
def _remove(name: str, config_path: Path) -> None:
    """Remove context NAME."""
    contexts = load_contexts(config_path)
    _lookup(config_path, contexts, name)
    remaining = {key: value for key, value in contexts.contexts.items() if key != name}
    was_current = contexts.current == name
    save_contexts(config_path, Contexts(None if was_current else contexts.current, remaining))
    click.echo(f"Removed context {name}")
    if was_current:
        click.echo("It was the current one; no context is current now (nf-build context use NAME)")


def _redact(token: str) -> str:
    """``abcde…wxyz``: the first five and last four characters, or only ``…`` when short."""
    if len(token) < _MIN_PARTIAL_TOKEN:
        return "…"
    return f"{token[:5]}…{token[-4:]}"


def context_commands() -> click.Group:
    """The ``context`` group (``add``, ``use``, ``list``, ``remove``), for the root group."""
    group = click.Group("context", help="Manage named contexts: token, base URL, project.")
    for command in (_add, _use, _list, _remove):
        group.add_command(command)
    return group
