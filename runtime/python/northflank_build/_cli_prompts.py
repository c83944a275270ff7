"""Asking, at a terminal, for what a request body still lacks.

`Prompter.fill` walks the command's `BodyField` rows in order and asks for:

* each path parameter not given (``projectId``);
* each required field that is missing, wherever its parent is there or required;
* the branch of a ``oneOf`` (``buildSettings``), from a numbered list;
* the optional fields of a required object that requires none of its own
  (``billing``: its build plan), which Enter skips.

Every answer is checked at once by the spec's models, on the body as it would
be with the answer in it, and only the errors at that field count: a wrong
answer is explained, with the spec's example, and asked again. Prompts go to
stderr, so stdout keeps only the result.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click
from northflank_build._cli_base import JSON_NUMBER, BodyField, Command, ValueType
from northflank_build._cli_output import Printer

__all__ = ["Prompter"]

SCALARS = ("string", "integer", "number", "boolean")
_MISSING = object()


class Prompter:
    def __init__(
        self,
        command: Command,
        *,
        validate: Callable[[Mapping[str, Any]], Sequence[Any]],
        printer: Printer,
    ) -> None:
        self.command = command
        self.validate = validate
        self.printer = printer

    def fill(self, body: dict[str, Any], path_params: dict[str, str]) -> bool:
        """Ask for what is missing, filling ``body`` and ``path_params``; whether anything was."""
        asked = False
        for parameter in self.command.path_parameters:
            if parameter.name not in path_params:
                self._heading(parameter.name, parameter.help)
                path_params[parameter.name] = click.prompt(
                    f"  {parameter.name}", type=_NON_EMPTY, err=True
                )
                asked = True
        in_scope: set[tuple[str, ...]] = {()}
        optional_scope: set[tuple[str, ...]] = set()
        branch: dict[tuple[str, ...], int] = {}
        fields = self.command.body_fields
        for field in fields:
            parent = field.path[:-1]
            if parent not in in_scope:
                continue
            if parent in branch and branch[parent] not in field.variants:
                continue
            value = _lookup(body, field.path)
            if field.kind == "object":
                if value is _MISSING and field.required:
                    _put(body, field.path, {})
                    if not any(f.required and f.path[:-1] == field.path for f in fields):
                        optional_scope.add(field.path)
                    in_scope.add(field.path)
                elif isinstance(value, dict):
                    in_scope.add(field.path)
            elif field.kind == "oneOf":
                if value is _MISSING and not field.required:
                    continue
                if value is _MISSING:
                    _put(body, field.path, {})
                    value = {}
                index = _branch_of(field, value)
                if index is None and isinstance(value, dict) and not value:
                    index = self._choose(field)
                    asked = True
                if index is not None:
                    branch[field.path] = index
                    in_scope.add(field.path)
            elif field.kind in SCALARS and value is _MISSING:
                if field.required:
                    self._ask(body, field, optional=False)
                    asked = True
                elif parent in optional_scope and not field.deprecated:
                    self._ask(body, field, optional=True)
                    asked = True
        return asked

    # ------------------------------------------------------------------ one question

    def _heading(self, label: str, text: str) -> None:
        style = self.printer.style
        self.printer.err(f"{style(label, bold=True)}  {style(text, dim=True)}".rstrip())

    def _choose(self, field: BodyField) -> int:
        self._heading(field.label, field.help)
        for number, title in enumerate(field.variant_titles, 1):
            self.printer.err(f"  {number}) {title}")
        count = len(field.variant_titles)
        choice: int = click.prompt("  Choose", type=click.IntRange(1, count), err=True)
        return choice - 1

    def _ask(self, body: dict[str, Any], field: BodyField, *, optional: bool) -> None:
        self._heading(field.label, field.help)
        hints = []
        if field.choices:
            hints.append("/".join(field.choices))
        elif field.kind == "boolean":
            hints.append("y/n")
        if optional:
            hints.append("Enter to skip")
        prompt = f"  {field.label}" + (f" [{', '.join(hints)}]" if hints else "")
        while True:
            answer: str = click.prompt(
                prompt, default="" if optional else None, show_default=False, err=True
            )
            if optional and answer == "":
                return
            try:
                value = _parsed(field, answer)
            except click.BadParameter as error:
                self._reject(field, error.message)
                continue
            candidate = copy.deepcopy(body)
            _put(candidate, field.path, value)
            problems = [e for e in self.validate(candidate) if _at(e.path, field.json_path)]
            if not problems:
                _put(body, field.path, value)
                return
            for problem in problems:
                self._reject(field, f"{problem.message} ({problem.rule})")

    def _reject(self, field: BodyField, message: str) -> None:
        style = self.printer.style
        self.printer.err(f"  {style('x', fg='red', bold=True)} {message}")
        if field.example_json is not None:
            self.printer.err(f"    Example: {_example_text(field.example_json)}")


class _NonEmpty(ValueType):
    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not str(value).strip():
            self.fail("a value is required", param, ctx)
        return str(value)


_NON_EMPTY = _NonEmpty()


def _parsed(field: BodyField, answer: str) -> Any:
    if field.choices and answer not in field.choices:
        raise click.BadParameter(f"choose one of: {', '.join(field.choices)}")
    if field.kind == "boolean":
        answer = answer.strip().lower()
        if answer not in ("y", "yes", "n", "no", "true", "false"):
            raise click.BadParameter("answer y or n")
        return answer in ("y", "yes", "true")
    if field.kind == "integer":
        parsed = JSON_NUMBER.convert(answer, None, None)
        if not isinstance(parsed, int):
            raise click.BadParameter(f"{answer!r} is not a whole number")
        return parsed
    if field.kind == "number":
        return JSON_NUMBER.convert(answer, None, None)
    return answer


def _branch_of(field: BodyField, value: Any) -> int | None:
    """The one branch whose required properties ``value`` has; ``None`` if not exactly one."""
    if not isinstance(value, dict):
        return None
    matches = [i for i, keys in enumerate(field.variant_keys) if all(k in value for k in keys)]
    return matches[0] if len(matches) == 1 else None


def _lookup(body: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = body
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _put(body: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _at(error_path: str, field_path: str) -> bool:
    return error_path == field_path or error_path.startswith((field_path + ".", field_path + "["))


def _example_text(example_json: str) -> str:
    example = json.loads(example_json)
    return example if isinstance(example, str) else example_json
