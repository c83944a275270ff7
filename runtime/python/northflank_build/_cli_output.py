"""What ``nf-build`` prints: results on stdout; errors, prompts and ``--verbose`` on stderr.

Colour only where the stream is a terminal and ``NO_COLOR`` is unset or empty
(https://no-color.org). Standard library and click only; httpx objects reach
the ``--verbose`` hooks duck-typed, so this module does not import httpx.

Text that comes from the API or from the user (messages, ids, field paths, keys
and values in tables) can hold terminal escapes: ``ESC[2J`` clears the screen, an
OSC sequence sets the window's title. So every such string passes through
`visible` before it is printed, at a terminal and when piped alike: each C0 and
C1 control character, DEL, each bidirectional control and each lone surrogate is
shown as its escape (``\\x1b``, ``\\u202e``). JSON output stays valid JSON with the
same values: ``json.dumps`` escapes C0 itself, and `json_text` escapes the rest
as ``\\uXXXX``, so no raw control character reaches the terminal there either.
YAML output relies on the emitter, which double-quotes and escapes every
control character (bidirectional controls are printable text to YAML and pass).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click

__all__ = [
    "MAX_FIELD_ERRORS_SHOWN",
    "ItemStream",
    "Printer",
    "flatten",
    "redacted_headers",
    "visible",
]

REDACTED = "<redacted>"
MAX_FIELD_ERRORS_SHOWN = 50
"""How many failing fields an error lists; the rest are counted (`... and 12 more`)."""

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}\ud800-\udfff]")
"""What a terminal may act on, or a reader be misled by: C0, DEL, C1, bidi controls,
and lone surrogates (which cannot even be encoded for output)."""
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI_CONTROLS}\ud800-\udfff]")
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI_CONTROLS}\ud800-\udfff]")
"""What ``json.dumps(ensure_ascii=False)`` leaves raw and should not."""


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` safe to print: each unsafe character shown as its escape (``\\x1b``).

    A newline is kept only with ``keep_newlines``, for text that is ours to lay out
    (a message, a body printed by ``--verbose``); in an id, a path or a table cell it
    would let the API forge lines of its own.
    """
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class Printer:
    """Prints in the chosen output format, with or without colour."""

    def __init__(self, *, output: str, quiet: bool, color: bool) -> None:
        self.output = output
        self.quiet = quiet
        self.color = color

    @classmethod
    def for_streams(cls, *, output: str | None, quiet: bool) -> Printer:
        """``table`` at a terminal and ``json`` when piped, unless ``output`` says."""
        stdout_tty = _isatty(sys.stdout)
        chosen = output or ("table" if stdout_tty else "json")
        return cls(output=chosen, quiet=quiet, color=not os.environ.get("NO_COLOR"))

    # ------------------------------------------------------------------ building blocks

    def style(self, text: str, **styles: Any) -> str:
        return click.style(text, **styles) if self.color else text

    def out(self, text: str = "", *, nl: bool = True) -> None:
        click.echo(text, nl=nl, color=None if self.color else False)

    def err(self, text: str = "") -> None:
        click.echo(text, err=True, color=None if self.color else False)

    def error(self, message: str) -> None:
        """``Error: message``; the message's own newlines are kept, every escape shown."""
        self.err(
            f"{self.style('Error:', fg='red', bold=True)} {visible(message, keep_newlines=True)}"
        )

    def json_text(self, value: Any) -> str:
        """Indented JSON, unicode kept, with DEL, C1, bidi controls and lone surrogates
        escaped: still valid JSON, and of the same value."""
        return _UNSAFE_IN_JSON.sub(_json_escape, json.dumps(value, indent=2, ensure_ascii=False))

    def document(self, value: Any) -> str:
        """``value`` as YAML under ``-o yaml``, else as indented JSON."""
        if self.output == "yaml":
            from northflank_build._cli_documents import dump_yaml

            return dump_yaml(value).rstrip("\n")
        return self.json_text(value)

    # ------------------------------------------------------------------ what commands print

    def result(self, data: Mapping[str, Any], *, id_key: str | None, title: str) -> None:
        if self.quiet:
            if id_key is not None and id_key in data:
                self.out(_cell(data[id_key]))
            return
        if self.output in ("json", "yaml"):
            self.out(self.document(data))
            return
        identity = f" {_cell(data[id_key])}" if id_key is not None and id_key in data else ""
        self.out(self.style(f"{title}: done.{identity and ' Id:'}{identity}", fg="green"))
        self.out(self.table(flatten(data)))

    def no_content(self, *, title: str, status: int) -> None:
        """A success without a body (204): one line; on stderr under ``-o json``/``yaml``,
        so that stdout stays empty, and nothing at all under ``--quiet``."""
        if self.quiet:
            return
        line = self.style(f"{title}: done ({status}, no content).", fg="green")
        if self.output in ("json", "yaml"):
            self.err(line)
        else:
            self.out(line)

    def table(self, rows: Sequence[tuple[str, str]]) -> str:
        width = max((len(label) for label, _ in rows), default=0)
        return "\n".join(
            f"  {self.style(label.ljust(width), bold=True)}  {value}" for label, value in rows
        )

    def show_body(self, body: Mapping[str, Any]) -> None:
        """The body about to be sent, before the confirmation."""
        self.err(self.style("Request body:", bold=True))
        self.err(self.document(body))

    def dry_run(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None,
        *,
        token: str | None,
        validated: bool,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The request that would be sent; ``body`` ``None``: it has none (no ``body`` key)."""
        content = {"content-type": "application/json"} if body is not None else {}
        auth = {"authorization": f"Bearer {REDACTED}"} if token else {}
        sent = {**content, **auth, **(headers or {})}
        what = "the body is" if body is not None else "the request is"
        if self.output in ("json", "yaml"):
            request: dict[str, Any] = {"method": method, "url": url, "headers": sent}
            if body is not None:
                request["body"] = body
            self.out(self.document(request))
            return
        self.out(self.style(f"{method} {visible(url)}", bold=True))
        for name, value in sent.items():
            self.out(f"{visible(name)}: {visible(value)}")
        if body is not None:
            self.out()
            self.out(self.json_text(body))
        if validated:
            self.err(self.style(f"Dry run: {what} valid; nothing was sent.", fg="green"))
        else:
            checked = "body" if body is not None else "request"
            self.err(
                f"Dry run: the {checked} was not checked (--skip-validation); nothing was sent."
            )

    def parameters_invalid(self, errors: Sequence[tuple[str, Any]]) -> None:
        """Each failing parameter by its flag (``--per-page``), with the rule it breaks."""
        count = len(errors)
        noun = "parameter" if count == 1 else "parameters"
        self.error(f"invalid {noun} ({count} failing); nothing was sent.")
        for flag, error in errors:
            self.field_line(flag, error.rule, error.message)
        self.err("Fix them, or send anyway with --skip-validation.")

    def validation_failed(self, errors: Sequence[Any], *, more: int = 0) -> None:
        """The first `MAX_FIELD_ERRORS_SHOWN` failing fields, and how many more fail;
        ``more`` counts those the caller did not even collect."""
        count = len(errors) + more
        noun = "field" if count == 1 else "fields"
        self.error(f"the request body is invalid ({count} failing {noun}); nothing was sent.")
        for error in errors[:MAX_FIELD_ERRORS_SHOWN]:
            self.field_line(error.path, error.rule, error.message)
        self.more_fields(count - min(len(errors), MAX_FIELD_ERRORS_SHOWN))
        self.err("Fix them, or send anyway with --skip-validation.")

    def field_line(self, where: Any, rule: Any, message: Any) -> None:
        """``  $.name (pattern): ...``: each part, maybe the API's, shown escaped on one line."""
        label = self.style(visible(str(where)), bold=True)
        self.err(f"  {label} ({visible(str(rule))}): {visible(str(message))}")

    def more_fields(self, count: int) -> None:
        if count > 0:
            self.err(f"  … and {count} more")

    def api_error(self, error: Any) -> None:
        """An `APIStatusError`: its status, message and error id, and any failing fields."""
        status = f"{error.status_code} {visible(str(error.response.reason_phrase))}".rstrip()
        self.error(f"{status}: {visible(str(error.error_message))}")
        details = error.details if isinstance(error.details, dict) else {}
        fields = details.get("fields", [])
        fields = [f for f in fields if isinstance(f, Mapping)] if isinstance(fields, list) else []
        for field in fields[:MAX_FIELD_ERRORS_SHOWN]:
            self.field_line(
                field.get("path", "?"), field.get("rule", "?"), field.get("message", "")
            )
        self.more_fields(len(fields) - MAX_FIELD_ERRORS_SHOWN)
        if error.error_id:
            self.err(f"  error id: {visible(str(error.error_id))}")
        if error.status_code == 409 and error.after_retry:
            self.err(
                "  An earlier attempt of this call may have created it before its answer "
                "was lost; check before creating it under another name."
            )

    # ------------------------------------------------------------------ --verbose (httpx hooks)

    def verbose_request(self, request: Any) -> None:
        self.err(self.style(f"> {request.method} {visible(str(request.url))}", fg="cyan"))
        for name, value in redacted_headers(request.headers.items()):
            self.err(f"> {visible(name)}: {visible(value)}")
        self.err(">")
        self.err(visible(request.content.decode("utf-8", errors="replace"), keep_newlines=True))

    def verbose_response(self, response: Any) -> None:
        response.read()
        status = f"< {response.status_code} {visible(str(response.reason_phrase))}".rstrip()
        self.err(self.style(status, fg="cyan"))
        for name, value in redacted_headers(response.headers.items()):
            self.err(f"< {visible(name)}: {visible(value)}")
        self.err("<")
        self.err(visible(response.content.decode("utf-8", errors="replace"), keep_newlines=True))


class ItemStream:
    """A list's items, printed page by page as each page arrives.

    ``table``: one row per item, the columns those of the first item (dotted
    paths, as `flatten` names them), the header once; ``json``: one JSON array,
    written an item at a time and closed by `close`; ``yaml``: a YAML list, an
    entry per item; ``--quiet``: each item's id on a line.
    """

    def __init__(self, printer: Printer, *, id_key: str) -> None:
        self.printer = printer
        self.id_key = id_key
        self.count = 0
        self.columns: list[str] = []
        self.widths: dict[str, int] = {}

    def page(self, items: Sequence[Mapping[str, Any]]) -> None:
        rows = [dict(flatten(item)) for item in items]
        if rows and not self.columns and self.printer.output == "table":
            self._header(rows)
        for item, row in zip(items, rows, strict=True):
            self._item(item, row)
            self.count += 1

    def close(self) -> None:
        printer = self.printer
        if printer.quiet:
            return
        if printer.output == "json":
            printer.out("[]" if self.count == 0 else "\n]")
        elif printer.output == "yaml":
            if self.count == 0:
                printer.out("[]")
        elif self.count == 0:
            printer.out("No items.")

    def _item(self, item: Mapping[str, Any], row: Mapping[str, str]) -> None:
        printer = self.printer
        if printer.quiet:
            printer.out(_cell(item.get(self.id_key, "")))
        elif printer.output == "json":
            text = "\n".join("  " + line for line in printer.json_text(item).splitlines())
            printer.out(("[\n" if self.count == 0 else ",\n") + text, nl=False)
        elif printer.output == "yaml":
            from northflank_build._cli_documents import dump_yaml

            printer.out(dump_yaml([item]).rstrip("\n"))
        else:
            line = "  ".join(row.get(c, "").ljust(self.widths[c]) for c in self.columns)
            printer.out(line.rstrip())

    def _header(self, rows: Sequence[Mapping[str, str]]) -> None:
        """The columns of the first item, as wide as the first page needs."""
        self.columns = list(rows[0])
        self.widths = {c: max(len(c), *(len(r.get(c, "")) for r in rows)) for c in self.columns}
        header = "  ".join(c.upper().ljust(self.widths[c]) for c in self.columns)
        self.printer.out(self.printer.style(header.rstrip(), bold=True))


def redacted_headers(headers: Any) -> Iterator[tuple[str, str]]:
    for name, value in headers:
        if name.lower() in ("authorization", "cookie", "set-cookie", "proxy-authorization"):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            yield name, f"{scheme} {REDACTED}".strip()
        else:
            yield name, value


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A JSON value as (dotted path, text) rows: lists of scalars joined, objects expanded;
    every key and value shown escaped (see `visible`), as the rows are for a terminal."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for key, child in value.items():
            rows += flatten(child, f"{prefix}.{_cell(key)}" if prefix else _cell(key))
        if not rows and prefix:
            rows = [(prefix, "{}")]
        return rows
    if isinstance(value, list):
        if all(not isinstance(item, Mapping | list) for item in value):
            return [(prefix, ", ".join(_scalar_text(item) for item in value) or "[]")]
        rows = []
        for index, item in enumerate(value):
            rows += flatten(item, f"{prefix}[{index}]")
        return rows
    return [(prefix, _scalar_text(value))]


def _scalar_text(value: Any) -> str:
    return visible(value) if isinstance(value, str) else json.dumps(value)


def _cell(value: Any) -> str:
    """An id or a key as one line of text, escapes shown."""
    return visible(value if isinstance(value, str) else str(value))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
