"""Request bodies for ``nf-build``: read from a file, stdin or an argument, and YAML out.

A body given with ``-f/--file PATH`` (``-`` is stdin) or ``-i/--input STRING`` is JSON
or YAML. Nothing in it may be lost or changed on the way in, so both readers are
strict, and every refusal names the source, the JSON path and the line and column:

* Either: a file larger than `MAX_DOCUMENT_BYTES` is refused, read no further than
  that; so are a directory and a named pipe. A lone surrogate (``"\\ud800"``, which no
  UTF-8 text can carry) is refused by JSON path, in a key or a value.
* JSON: duplicate keys, ``NaN`` and the infinities are refused; integers stay exact.
* YAML is read with the YAML 1.2 core schema, not PyYAML's YAML 1.1 defaults: only
  ``true``/``false`` are booleans (``yes``, ``on``, ``n`` stay strings), ``012`` is the
  integer 12, and dates stay strings. Duplicate keys, merge keys (``<<``), keys that
  are not strings, tags outside the core schema and streams of several documents are
  refused.

:func:`dump_yaml` writes YAML that reads back as the same value, here and in YAML 1.1
readers alike: any string either would read as something else is quoted.

PyYAML is imported on first use, so that ``nf-build --help`` does not pay for it.
"""

from __future__ import annotations

import codecs
import json
import json.decoder
import math
import os
import re
import stat
import sys
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from northflank_build._paths import json_path_step

if TYPE_CHECKING:
    from collections.abc import Callable

    import yaml
    from yaml.nodes import Node, ScalarNode

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "DocumentError",
    "dump_yaml",
    "format_for",
    "parse_document",
    "parse_json",
    "read_file",
]

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""The largest body file read: far beyond any real request, small enough to hold."""

_Format = Literal["json", "yaml", "auto"]


class DocumentError(Exception):
    """A document that cannot be used; ``str(error)`` names the source and where in it."""

    source: str
    """Where the document came from: a path, ``<stdin>`` or ``--input``."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


# --- Reading ----------------------------------------------------------------------------------

_STDIN = "<stdin>"
_FOREIGN_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def read_file(path: str) -> tuple[str, str]:
    """The text of ``path`` and the name to report it by; ``-`` reads stdin as ``<stdin>``.

    The bytes must be UTF-8; a UTF-8 byte order mark is dropped. At most
    `MAX_DOCUMENT_BYTES` are read, so ``/dev/zero`` is an error, not a hang.
    """
    if path == "-":
        source = _STDIN
        stdin = getattr(sys.stdin, "buffer", None)  # sys.stdin is None without a stdin
        if stdin is None:
            raise DocumentError(source, "there is no standard input to read")
        try:
            data: bytes = stdin.read(MAX_DOCUMENT_BYTES + 1)
        except (OSError, ValueError) as error:  # ValueError: stdin is closed
            raise DocumentError(source, f"cannot read: {error}") from error
    else:
        source = path
        try:
            data = _read_path(path)
        except OSError as error:
            raise DocumentError(source, _os_reason(path, error)) from error
    if len(data) > MAX_DOCUMENT_BYTES:
        limit = f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB"
        raise DocumentError(source, f"larger than {limit}, more than a request body can be")
    return _decode(data, source), source


_OPEN_WITHOUT_WAITING = getattr(os, "O_NONBLOCK", 0)
"""Opening a named pipe waits for a writer; with this it opens at once, to be refused."""


def _read_path(path: str) -> bytes:
    """The first `MAX_DOCUMENT_BYTES` + 1 bytes of a file or device; not a directory or pipe."""
    fd = os.open(path, os.O_RDONLY | _OPEN_WITHOUT_WAITING | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise DocumentError(
                path, "is a pipe, not a file: pipe a body to standard input with -f - instead"
            )
        if _OPEN_WITHOUT_WAITING:
            os.set_blocking(fd, True)
        return file.read(MAX_DOCUMENT_BYTES + 1)


def _os_reason(path: str, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError) or os.path.isdir(path):
        return "is a directory, not a file"
    if isinstance(error, PermissionError):
        return "permission denied"
    return _lower(error.strerror or str(error))


def _decode(data: bytes, source: str) -> str:
    if data.startswith(_FOREIGN_BOMS):
        raise DocumentError(source, "the text is UTF-16 or UTF-32; it must be UTF-8")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", "replace")) + 1
        what = f"not valid UTF-8: byte 0x{data[error.start]:02x}"
        raise DocumentError(source, _located(what, None, line, column)) from error


def format_for(path: str) -> _Format:
    """The format a path's extension names: ``.json``, ``.yaml``/``.yml``, else ``auto``."""
    extension = os.path.splitext(path)[1].lower() if path != "-" else ""
    if extension == ".json":
        return "json"
    if extension in (".yaml", ".yml"):
        return "yaml"
    return "auto"


def parse_document(text: str, *, source: str, fmt: _Format) -> dict[str, Any]:
    """The JSON object in ``text``, read as ``fmt``.

    ``auto`` reads JSON when the first non-blank character is ``{`` or ``[`` (and then
    reports a JSON error as such), and YAML otherwise.
    """
    if fmt == "auto":
        fmt = "json" if text.lstrip(" \t\r\n")[:1] in ("{", "[") else "yaml"
    if fmt == "json":
        value = parse_json(text, source=source)
    else:
        try:
            value = _read_yaml(text, source)
        except RecursionError:
            raise DocumentError(source, "the document is nested too deeply") from None
    if not isinstance(value, dict):
        raise DocumentError(source, f"the top level must be an object, not {_kind(value)}")
    return value


def parse_json(text: str, *, source: str) -> Any:
    """The JSON value in ``text``, any kind, read as strictly as a body (see above).

    The standard library reads it first; whatever it refuses or cannot vouch for (a
    duplicate key, ``NaN``, a number out of range, an escaped surrogate, any syntax
    error, great depth) is read again by `_JsonReader`, which words the refusal.
    """
    if _MAYBE_SURROGATE.search(text) is None:
        try:
            return json.loads(
                text,
                object_pairs_hook=_unique_keys,
                parse_constant=_refuse_constant,
                parse_float=_finite_float,
            )
        except (ValueError, RecursionError):  # json.JSONDecodeError is a ValueError
            pass
    try:
        return _JsonReader(text, source).document()
    except RecursionError:
        raise DocumentError(source, "the document is nested too deeply") from None


_MAYBE_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")
"""A surrogate in the text, or a ``\\u`` escape that may make one (a pair included): the
standard library would let a lone one through, so such a text is read by `_JsonReader`."""


class _NotPlainJsonError(ValueError):
    """Raised inside ``json.loads`` for what only `_JsonReader` may word."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _NotPlainJsonError("duplicate key")
    return result


def _refuse_constant(word: str) -> NoReturn:
    raise _NotPlainJsonError(f"{word} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NotPlainJsonError(f"the number {literal} is too large")
    return value


# --- Messages ---------------------------------------------------------------------------------


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A surrogate left in decoded text is a lone one: a pair decodes to one character."""


def _surrogate_refusal(match: re.Match[str], *, key: bool) -> str:
    where = " in a key" if key else ""
    return f"a lone surrogate \\u{ord(match.group()):04x}{where}, which no UTF-8 text can carry,"


def _located(what: str, path: str | None, line: int, column: int) -> str:
    where = f" at {path}" if path is not None else ""
    return f"{what}{where} (line {line}, column {column})"


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _quote(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# --- JSON -------------------------------------------------------------------------------------

_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_JSON_WORDS = (("null", None), ("true", True), ("false", False))
_NOT_JSON_NUMBERS = ("NaN", "Infinity", "-Infinity")
_scan_string: Callable[[str, int, bool], tuple[str, int]]
_scan_string = json.decoder.scanstring  # type: ignore[attr-defined]
"""The standard library's string reader (C-accelerated): escapes, control characters, errors."""


class _JsonReader:
    """Strict JSON with a JSON path and a position for every refusal.

    The standard library's decoder cannot say where a duplicate key is and turns
    ``1e400`` into infinity, so objects, arrays and numbers are read here; strings
    go through the standard library's scanner.
    """

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def fail(self, what: str, pos: int, path: str | None = None) -> NoReturn:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - self.text.rfind("\n", 0, pos)
        raise DocumentError(self.source, _located(what, path, line, column))

    def found(self, pos: int) -> str:
        char = self.text[pos : pos + 1]
        return f"found {char!r}" if char else "found the end of the document"

    def skip(self, pos: int) -> int:
        match = _JSON_SPACE.match(self.text, pos)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def document(self) -> Any:
        pos = self.skip(0)
        if pos == len(self.text):
            raise DocumentError(self.source, "the document is empty")
        value, pos = self.value(pos, "$")
        pos = self.skip(pos)
        if pos != len(self.text):
            self.fail(f"expecting the end of the document, {self.found(pos)}", pos)
        return value

    def value(self, pos: int, path: str) -> tuple[Any, int]:
        text = self.text
        char = text[pos : pos + 1]
        if char == "{":
            return self.object(pos, path)
        if char == "[":
            return self.array(pos, path)
        if char == '"':
            return self.string(pos, path)
        for word, value in _JSON_WORDS:
            if text.startswith(word, pos):
                return value, pos + len(word)
        number = _JSON_NUMBER.match(text, pos)
        if number is not None:
            return self.number(number, path), number.end()
        for word in _NOT_JSON_NUMBERS:
            if text.startswith(word, pos):
                self.fail(f"{word} is not a JSON number", pos, path)
        self.fail(f"expecting a value, {self.found(pos)}", pos, path)

    def number(self, match: re.Match[str], path: str) -> int | float:
        literal = match.group()
        if match.group(1) is None and match.group(2) is None:
            try:
                return int(literal)
            except ValueError:  # more digits than int() converts
                self.fail("the integer has too many digits", match.start(), path)
        value = float(literal)
        if not math.isfinite(value):
            self.fail(f"the number {literal} is too large", match.start(), path)
        return value

    def string(self, pos: int, path: str, *, key: bool = False) -> tuple[str, int]:
        try:
            value, end = _scan_string(self.text, pos + 1, True)
        except json.JSONDecodeError as error:
            message = error.msg.removesuffix(" at").removesuffix(" starting")
            if message == "Invalid control character":
                message = f"invalid control character {self.text[error.pos]!r} in a string"
            elif message == "Invalid \\escape":
                message = f"invalid escape {self.text[error.pos : error.pos + 2]!r} in a string"
            self.fail(_lower(message), error.pos, path)
        surrogate = _LONE_SURROGATE.search(value)
        if surrogate is not None:
            self.fail(_surrogate_refusal(surrogate, key=key), pos + 1, path)
        return value, end

    def object(self, start: int, path: str) -> tuple[dict[str, Any], int]:
        text = self.text
        result: dict[str, Any] = {}
        pos = self.skip(start + 1)
        if text.startswith("}", pos):
            return result, pos + 1
        while True:
            if not text.startswith('"', pos):
                if result and text.startswith("}", pos):
                    self.fail("a trailing comma before '}'", pos, path)
                self.fail(f"expecting a key in double quotes, {self.found(pos)}", pos, path)
            key, end = self.string(pos, path, key=True)
            member = path + json_path_step(key)
            if key in result:
                self.fail(f"duplicate key {_quote(key)}", pos, member)
            pos = self.skip(end)
            if not text.startswith(":", pos):
                self.fail(f"expecting ':' after the key, {self.found(pos)}", pos, member)
            result[key], pos = self.value(self.skip(pos + 1), member)
            pos = self.skip(pos)
            if text.startswith(",", pos):
                pos = self.skip(pos + 1)
            elif text.startswith("}", pos):
                return result, pos + 1
            else:
                self.fail(f"expecting ',' or '}}', {self.found(pos)}", pos, path)

    def array(self, start: int, path: str) -> tuple[list[Any], int]:
        text = self.text
        result: list[Any] = []
        pos = self.skip(start + 1)
        if text.startswith("]", pos):
            return result, pos + 1
        while True:
            if text.startswith("]", pos):
                self.fail("a trailing comma before ']'", pos, path)
            item, pos = self.value(pos, f"{path}[{len(result)}]")
            result.append(item)
            pos = self.skip(pos)
            if text.startswith(",", pos):
                pos = self.skip(pos + 1)
            elif text.startswith("]", pos):
                return result, pos + 1
            else:
                self.fail(f"expecting ',' or ']', {self.found(pos)}", pos, path)


# --- YAML: the YAML 1.2 core schema -----------------------------------------------------------

_CORE = "tag:yaml.org,2002:"
_STR = f"{_CORE}str"
_INT = f"{_CORE}int"
_FLOAT = f"{_CORE}float"
_BOOL = f"{_CORE}bool"
_NULL = f"{_CORE}null"
_SEQ = f"{_CORE}seq"
_MAP = f"{_CORE}map"
_CORE_SCALARS = (_NULL, _BOOL, _INT, _FLOAT)
"""The core schema's scalar tags other than ``!!str``."""
_MERGE = "<<"
"""The tag given to a plain ``<<``, so that a merge key is told from a string ``"<<"``."""

_NULLS = ("", "~", "null", "Null", "NULL")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT_PATTERN = re.compile(r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z")
_FLOAT_PATTERN = re.compile(
    r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_NOT_JSON_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)\Z")

_CORE_RESOLVERS: tuple[tuple[str, re.Pattern[str], list[str]], ...] = (
    (_NULL, re.compile(r"(?:~|null|Null|NULL|)\Z"), [*"~nN", ""]),
    (_BOOL, re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z"), [*"tTfF"]),
    (_INT, _INT_PATTERN, [*"-+0123456789"]),
    (_FLOAT, _FLOAT_PATTERN, [*"-+.0123456789"]),
    (_MERGE, re.compile(r"<<\Z"), ["<"]),
)
"""(tag, pattern, possible first characters) of each plain scalar that is not a string;
``""`` is the empty scalar."""

_YAML11_BREAKS = re.compile("[\x85\u2028\u2029]")
"""Line breaks in YAML 1.1 (and to PyYAML), but not in YAML 1.2."""

_MAX_ALIAS_VALUES = 100_000
"""How many values aliases may repeat in all, against documents built to explode."""


def _add_resolvers(cls: type[yaml.resolver.BaseResolver]) -> None:
    cls.yaml_implicit_resolvers = {}  # the subclass's own table; the base's stays as it is
    for tag, pattern, first in _CORE_RESOLVERS:
        cls.add_implicit_resolver(tag, pattern, first)


@cache
def _yaml_loader() -> type[yaml.SafeLoader]:
    import yaml

    class Loader(yaml.SafeLoader):
        """Composes nodes with the core schema's tags; :class:`_YamlReader` builds values."""

        def compose_scalar_node(self, anchor: Any) -> ScalarNode:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if event.tag == _MERGE:  # spelt `!<%3C%3C>`: no core tag, and not a merge key
                raise yaml.composer.ComposerError(
                    None, None, f"unsupported tag {event.tag}", event.start_mark
                )
            node = super().compose_scalar_node(anchor)
            if event.tag == "!":  # PyYAML resolves `! 12` as a plain scalar; it is a string
                node.tag = _STR
            return node

    _add_resolvers(Loader)
    return Loader


@cache
def _yaml_dumper() -> type[yaml.SafeDumper]:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Writes JSON values; quotes strings YAML 1.2 or YAML 1.1 would read as non-strings."""

        yaml_representers = {}  # noqa: RUF012  (PyYAML's class-level tables)
        yaml_multi_representers = {}  # noqa: RUF012

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.containing: set[int] = set()

        def ignore_aliases(self, data: Any) -> bool:
            return True  # a repeated value is written out again, not as an anchor and aliases

        def nested(self, data: object, represent: Callable[[], yaml.Node]) -> yaml.Node:
            if id(data) in self.containing:
                raise ValueError("the value contains itself")
            self.containing.add(id(data))
            try:
                return represent()
            finally:
                self.containing.discard(id(data))

    _add_resolvers(Dumper)
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        for tag, pattern in resolvers:
            Dumper.add_implicit_resolver(tag, pattern, [first])
    Dumper.add_implicit_resolver(_BOOL, re.compile(r"[yYnN]\Z"), [*"yYnN"])  # YAML 1.1, not PyYAML

    def represent_object(dumper: Dumper, data: dict[Any, Any]) -> yaml.Node:
        for key in data:
            if not isinstance(key, str):
                raise TypeError(f"an object key must be a string, not {key!r}")
        return dumper.nested(data, lambda: dumper.represent_mapping(_MAP, data))

    def represent_list(dumper: Dumper, data: list[Any] | tuple[Any, ...]) -> yaml.Node:
        return dumper.nested(data, lambda: dumper.represent_sequence(_SEQ, data))

    def represent_str(dumper: Dumper, data: str) -> yaml.Node:
        text = str.__str__(data)
        style = None
        if _YAML11_BREAKS.search(text):
            style = '"'  # PyYAML folds or rewrites these breaks unless they are escaped
        elif "\n" in text:
            style = "|"  # where the emitter cannot write a literal block, it writes '"'
        return dumper.represent_scalar(_STR, text, style=style)

    def represent_int(dumper: Dumper, data: int) -> yaml.Node:
        return dumper.represent_scalar(_INT, int.__repr__(data))

    def represent_float(dumper: Dumper, data: float) -> yaml.Node:
        if not math.isfinite(data):
            raise ValueError(f"{data!r} is not a JSON number")
        text = float.__repr__(data)
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e")  # YAML 1.1 reads 1e+16 as a string
        return dumper.represent_scalar(_FLOAT, text)

    def represent_bool(dumper: Dumper, data: bool) -> yaml.Node:
        return dumper.represent_scalar(_BOOL, "true" if data else "false")

    def represent_null(dumper: Dumper, data: None) -> yaml.Node:
        return dumper.represent_scalar(_NULL, "null")

    def represent_other(dumper: Dumper, data: object) -> yaml.Node:
        raise TypeError(f"{type(data).__name__} is not a JSON value")

    Dumper.add_representer(bool, represent_bool)
    Dumper.add_representer(type(None), represent_null)
    Dumper.add_multi_representer(dict, represent_object)
    Dumper.add_multi_representer(list, represent_list)
    Dumper.add_multi_representer(tuple, represent_list)
    Dumper.add_multi_representer(str, represent_str)
    Dumper.add_multi_representer(int, represent_int)
    Dumper.add_multi_representer(float, represent_float)
    Dumper.add_multi_representer(object, represent_other)
    return Dumper


def dump_yaml(value: Any) -> str:
    """Block-style YAML of a JSON value: keys in their order, unicode kept, lines unwrapped.

    Every string the readers here (or YAML 1.1 readers) would take for something else is
    quoted, so ``parse_document(dump_yaml(v), fmt="yaml")`` is ``v`` for any JSON object.
    Raises :class:`TypeError` or :class:`ValueError` for a value JSON cannot hold.
    """
    import yaml

    text: str = yaml.dump(
        value,
        Dumper=_yaml_dumper(),
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=math.inf,
    )
    return text


_FIRST_OCCURRENCE = "; first occurrence"


def _read_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        loader = _yaml_loader()(text)  # checks every character of a str up front
    except yaml.reader.ReaderError as error:
        _fail_reader(error, text, source)
    try:
        return _YamlReader(loader, source).document()
    except yaml.MarkedYAMLError as error:
        what = error.problem or error.context or "invalid YAML"
        if error.context and error.context.endswith(_FIRST_OCCURRENCE):
            what = error.context.removesuffix(_FIRST_OCCURRENCE)  # a duplicate anchor
        what = _lower(what)
        mark = error.problem_mark or error.context_mark
        if mark is None:
            raise DocumentError(source, what) from error
        raise DocumentError(source, _located(what, None, mark.line + 1, mark.column + 1)) from error
    except yaml.YAMLError as error:
        raise DocumentError(source, _lower(str(error))) from error
    finally:
        loader.dispose()


def _fail_reader(error: yaml.reader.ReaderError, text: str, source: str) -> NoReturn:
    pos: int = error.position
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    what = f"unacceptable character #x{error.character:04x}: {error.reason}"
    raise DocumentError(source, _located(what, None, line, column)) from error


class _YamlReader:
    """The value of the one document in a stream, checked node by node with its JSON path."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        from yaml import events, nodes

        self.loader = loader
        self.source = source
        self.stream_end = events.StreamEndEvent
        self.scalar = nodes.ScalarNode
        self.sequence = nodes.SequenceNode
        self.seen: set[Node] = set()
        self.open: set[Node] = set()
        self.repeated = 0

    def fail(self, what: str, node: Node, path: str | None = None) -> NoReturn:
        mark = node.start_mark
        raise DocumentError(self.source, _located(what, path, mark.line + 1, mark.column + 1))

    def document(self) -> Any:
        loader = self.loader
        loader.get_event()  # type: ignore[no-untyped-call]  # the stream start
        if loader.check_event(self.stream_end):
            raise DocumentError(self.source, "the document is empty")
        node = loader.compose_document()
        if not loader.check_event(self.stream_end):
            mark = loader.peek_event().start_mark  # type: ignore[no-untyped-call]
            what = "a second document; only one is allowed"
            raise DocumentError(self.source, _located(what, None, mark.line + 1, mark.column + 1))
        assert node is not None
        return self.value(node, "$")

    def value(self, node: Node, path: str) -> Any:
        if node in self.open:
            self.fail("an alias to a node that contains it", node, path)
        if node in self.seen:
            self.repeated += 1
            if self.repeated > _MAX_ALIAS_VALUES:
                self.fail(f"aliases repeat more than {_MAX_ALIAS_VALUES} values", node, path)
        self.seen.add(node)
        if isinstance(node, self.scalar):
            return self.scalar_value(node, path)
        self.open.add(node)
        try:
            if isinstance(node, self.sequence):
                if node.tag != _SEQ:
                    self.fail(self.tag_refusal(node.tag, "a sequence"), node, path)
                return [self.value(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
            if node.tag != _MAP:
                self.fail(self.tag_refusal(node.tag, "a mapping"), node, path)
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node, path)
                member = path + json_path_step(key)
                if key in result:
                    self.fail(f"duplicate key {_quote(key)}", key_node, member)
                result[key] = self.value(value_node, member)
            return result
        finally:
            self.open.discard(node)

    def key(self, node: Node, path: str) -> str:
        if not isinstance(node, self.scalar):
            kind = "sequence" if isinstance(node, self.sequence) else "mapping"
            self.fail(f"a {kind} key at {path} is not a string", node)
        if node.tag == _STR:
            key: str = node.value
            self.no_surrogate(key, node, path, key=True)
            return key
        if node.tag == _MERGE:
            self.fail("merge keys (<<) are not supported", node, path)
        if node.tag in _CORE_SCALARS:
            shown = f"key {node.value}" if node.value else "an empty key"
            self.fail(f"{shown} at {path} is not a string", node)
        self.fail(self.tag_refusal(node.tag, "a scalar"), node, path)

    def scalar_value(self, node: ScalarNode, path: str) -> Any:
        tag: str = node.tag
        text: str = node.value
        if tag in (_STR, _MERGE):  # a plain `<<` that is not a key is a string
            self.no_surrogate(text, node, path)
            return text
        if tag == _NULL and text in _NULLS:
            return None
        if tag == _BOOL and text in _BOOLS:
            return _BOOLS[text]
        if tag == _INT and _INT_PATTERN.match(text):
            return self.integer(text, node, path)
        if tag == _FLOAT and _FLOAT_PATTERN.match(text):
            if _NOT_JSON_FLOAT.match(text):
                self.fail(f"{text} is not a JSON number", node, path)
            number = float(text)
            if not math.isfinite(number):
                self.fail(f"the number {text} is too large", node, path)
            return number
        if tag in _CORE_SCALARS:
            self.fail(f"{text!r} is not a valid {_tag_name(tag)}", node, path)
        self.fail(self.tag_refusal(tag, "a scalar"), node, path)

    def no_surrogate(self, text: str, node: Node, path: str, *, key: bool = False) -> None:
        """PyYAML turns ``"\\ud800"`` into a lone surrogate, which cannot be sent."""
        surrogate = _LONE_SURROGATE.search(text)
        if surrogate is not None:
            self.fail(_surrogate_refusal(surrogate, key=key), node, path)

    def integer(self, text: str, node: Node, path: str) -> int:
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text)
        except ValueError:  # more digits than int() converts
            self.fail("the integer has too many digits", node, path)

    @staticmethod
    def tag_refusal(tag: str, kind: str) -> str:
        if tag in (_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP):
            return f"the tag {_tag_name(tag)} cannot be used on {kind}"
        return f"unsupported tag {_tag_name(tag)}"


def _tag_name(tag: str) -> str:
    return f"!!{tag[len(_CORE) :]}" if tag.startswith(_CORE) else tag
