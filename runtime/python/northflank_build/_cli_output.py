"""What ``nf-build`` prints: results on stdout; errors, prompts and ``--verbose`` on stderr.

Colour only where the stream is a terminal and ``NO_COLOR`` is unset or empty
(https://no-color.org). Standard library and click only; httpx objects reach
the ``--verbose`` hooks duck-typed, so this module does not import httpx.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click

__all__ = ["ItemStream", "Printer", "flatten", "redacted_headers"]

REDACTED = "<redacted>"


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
        self.err(f"{self.style('Error:', fg='red', bold=True)} {message}")

    def json_text(self, value: Any) -> str:
        return json.dumps(value, indent=2, ensure_ascii=False)

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
                self.out(str(data[id_key]))
            return
        if self.output in ("json", "yaml"):
            self.out(self.document(data))
            return
        identity = f" {data[id_key]}" if id_key is not None and id_key in data else ""
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
        self.out(self.style(f"{method} {url}", bold=True))
        for name, value in sent.items():
            self.out(f"{name}: {value}")
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
            self.err(f"  {self.style(flag, bold=True)} ({error.rule}): {error.message}")
        self.err("Fix them, or send anyway with --skip-validation.")

    def validation_failed(self, errors: Sequence[Any]) -> None:
        count = len(errors)
        noun = "field" if count == 1 else "fields"
        self.error(f"the request body is invalid ({count} failing {noun}); nothing was sent.")
        for error in errors:
            self.err(f"  {self.style(error.path, bold=True)} ({error.rule}): {error.message}")
        self.err("Fix them, or send anyway with --skip-validation.")

    def api_error(self, error: Any) -> None:
        """An `APIStatusError`: its status, message and error id, and any failing fields."""
        status = f"{error.status_code} {error.response.reason_phrase}".rstrip()
        self.error(f"{status}: {error.error_message}")
        for field in error.details.get("fields", []) if isinstance(error.details, dict) else []:
            if isinstance(field, Mapping):
                path, rule = field.get("path", "?"), field.get("rule", "?")
                self.err(
                    f"  {self.style(str(path), bold=True)} ({rule}): {field.get('message', '')}"
                )
        if error.error_id:
            self.err(f"  error id: {error.error_id}")
        if error.status_code == 409 and error.after_retry:
            self.err(
                "  An earlier attempt of this call may have created it before its answer "
                "was lost; check before creating it under another name."
            )

    # ------------------------------------------------------------------ --verbose (httpx hooks)

    def verbose_request(self, request: Any) -> None:
        self.err(self.style(f"> {request.method} {request.url}", fg="cyan"))
        for name, value in redacted_headers(request.headers.items()):
            self.err(f"> {name}: {value}")
        self.err(">")
        self.err(request.content.decode("utf-8", errors="replace"))

    def verbose_response(self, response: Any) -> None:
        response.read()
        status = f"< {response.status_code} {response.reason_phrase}".rstrip()
        self.err(self.style(status, fg="cyan"))
        for name, value in redacted_headers(response.headers.items()):
            self.err(f"< {name}: {value}")
        self.err("<")
        self.err(response.content.decode("utf-8", errors="replace"))


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
            printer.out(str(item.get(self.id_key, "")))
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
    """A JSON value as (dotted path, text) rows: lists of scalars joined, objects expanded."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for key, child in value.items():
            rows += flatten(child, f"{prefix}.{key}" if prefix else str(key))
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
    return value if isinstance(value, str) else json.dumps(value)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
