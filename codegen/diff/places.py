"""Where a change happens, in each surface's words: the wire, Python, the CLI, TypeScript."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..ir import CLI_NAME, Operation, Parameter
from ..names import PythonIdentifier
from .changes import Change, Level

__all__ = ["DOC_SURFACES", "Emit", "Place", "Sink"]

DOC_SURFACES = ("python", "cli", "typescript")
"""Where descriptions and examples are printed: docstrings, help text, doc comments."""

Sink = Callable[[Change, str], None]
"""Takes a change and the operationId it was seen in."""


@dataclass(frozen=True)
class Place:
    """A node of a request or response schema, or a parameter's schema, as both specs see it."""

    direction: str
    """``request``, ``response`` or ``parameter``: which way the data flows."""
    old_op: Operation
    new_op: Operation
    pointer: str
    """The node in NEW (``#/components/schemas/VcsData/properties/projectUrl``)."""
    old_pointer: str
    """The same node in OLD, where removals are reported."""
    model: str | None
    """The component schema holding the node: a Python model, a TypeScript interface."""
    field: tuple[str, ...] = ()
    """The node's property names below ``model`` (``[]`` for items, ``{}`` for map values)."""
    body_path: tuple[str, ...] = ()
    """The node's path from the body's root, as the CLI names its fields."""
    parameter: Parameter | None = None
    header: str | None = None
    """For a response header's schema: the header's name and the response's status."""

    @property
    def prefix(self) -> str:
        """The rule family: ``request-body``, ``request-property``, ``response-body``,
        ``response-property``, ``response-header`` or ``request-parameter``."""
        if self.direction == "parameter":
            return "request-parameter"
        if self.header is not None:
            return "response-header"
        return f"{self.direction}-{'property' if self.body_path else 'body'}"

    @property
    def is_input(self) -> bool:
        """What a client sends: tightening it breaks callers; loosening it adds."""
        return self.direction in ("request", "parameter")

    def tightened(self) -> Level:
        """The level of accepting fewer values here."""
        return Level.BREAKING if self.is_input else Level.PATCH

    def loosened(self) -> Level:
        """The level of accepting more values here."""
        return Level.ADDITIVE if self.is_input else Level.BREAKING

    def child(self, key: str, segment: str, *, property_name: str | None = None) -> Place:
        """The place one keyword down: ``properties/x``, ``items``, ``additionalProperties``."""
        field = (*self.field, property_name if property_name is not None else segment)
        body_path = (*self.body_path, property_name) if property_name else self.body_path
        return replace(
            self,
            pointer=f"{self.pointer}/{key}",
            old_pointer=f"{self.old_pointer}/{key}",
            field=field,
            body_path=body_path,
        )

    def at_component(self, old_name: str | None, new_name: str | None) -> Place:
        """The place after following ``$ref``s: the component holds what follows."""
        if new_name is None and old_name is None:
            return self
        name = new_name or old_name
        return replace(
            self,
            pointer=f"#/components/schemas/{new_name}" if new_name else self.pointer,
            old_pointer=f"#/components/schemas/{old_name}" if old_name else self.old_pointer,
            model=name,
            field=(),
        )

    @property
    def label(self) -> str:
        """The node as the wire names it: ``vcsData.projectUrl``, or ``the body``."""
        if self.header is not None:
            return f"response header {self.header}"
        if self.direction == "parameter" and self.parameter is not None:
            where = f"{self.parameter.location} parameter {self.parameter.name}"
            return where if not self.body_path[1:] else f"{where}.{'.'.join(self.body_path[1:])}"
        name = ".".join(self.body_path)
        return f"{self.direction} body" + (f" property {name}" if name else "")


class Emit:
    """Turns one finding into a change per surface, in that surface's words."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def __call__(
        self,
        place: Place,
        level: Level,
        rule: str,
        message: str,
        *,
        removed: bool = False,
        surfaces: tuple[str, ...] = ("wire", "python", "cli", "typescript"),
    ) -> None:
        pointer = place.old_pointer if removed else place.pointer
        op = place.new_op if not removed else place.old_op
        for surface in surfaces:
            subject = self._subject(place, surface, removed)
            if subject is None:
                continue
            self._sink(
                Change(level, rule, pointer, surface, f"{subject}: {message}"), op.operation_id
            )

    def _subject(self, place: Place, surface: str, removed: bool) -> str | None:
        """What ``surface`` calls the node; ``None`` where the surface does not show it."""
        if surface == "wire":
            return place.label
        if place.header is not None:
            return None  # the clients and the CLI type no response header
        if surface == "cli":
            return _cli_subject(place, removed)
        if place.direction == "parameter" and place.parameter is not None:
            if surface == "python":
                call = ".".join(["client", *place.new_op.command_path])
                return f"{call}() argument {place.parameter.python_name}"
            model = place.new_op.parameters_model or place.old_op.parameters_model
            return f"{model}.{place.parameter.name}"
        if place.model is None:
            return None
        if surface == "python":
            names = [f if f in ("[]", "{}") else PythonIdentifier(f) for f in place.field]
            return ".".join([place.model, *names])
        return ".".join([place.model, *place.field])

    def operation(
        self,
        op: Operation,
        pointer: str,
        level: Level,
        rule: str,
        messages: dict[str, str],
    ) -> None:
        """A change to an operation as a whole, worded per surface in ``messages``."""
        for surface, message in messages.items():
            self._sink(Change(level, rule, pointer, surface, message), op.operation_id)


def command(op: Operation) -> str:
    """``nf-build create service build``."""
    return " ".join([CLI_NAME, *op.command_path])


def client_call(op: Operation) -> str:
    """``client.create.service.build()``."""
    return ".".join(["client", *op.command_path]) + "()"


def _cli_subject(place: Place, removed: bool) -> str | None:
    """The CLI's flag for a request field or parameter; responses are printed, not flagged."""
    op = place.old_op if removed else place.new_op
    if place.direction == "parameter" and place.parameter is not None:
        return f"`{command(op)}` {place.parameter.flags[0]}"
    if place.direction != "request":
        return None
    if not place.body_path:
        return f"`{command(op)}` body"
    for candidate in (op, place.new_op, place.old_op):
        for field in candidate.body_fields:
            if field.path == place.body_path and field.flag:
                return f"`{command(op)}` {field.flag}"
    depth = len(place.body_path)
    below = sorted({f.flag for f in op.body_fields if f.flag and f.path[:depth] == place.body_path})
    name = ".".join(place.body_path)
    if below:
        return f"`{command(op)}` body field {name} ({', '.join(below)})"
    return f"`{command(op)}` body field {name}"
