"""The operation rules: operations, their names, parameters, bodies, responses and security.

Operations are matched by method and path, then by ``operationId`` (a moved
path). Each matched pair hands its parameters' and bodies' schemas to
`SchemaWalk`; names come from the IR, so a renamed ``operationId`` or
``x-command-path`` is reported as the Python, CLI and TypeScript names it changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..ir import Api, Operation, Parameter
from ..spec_operations import iter_operations
from ..spec_walk import dereference
from .changes import Level
from .places import DOC_SURFACES, Emit, Place, client_call, command
from .schemas import SchemaWalk

__all__ = ["Side", "compare_apis"]

ALL_SURFACES = ("wire", "python", "cli", "typescript")
NAME_SURFACES = ("python", "cli", "typescript")


@dataclass(frozen=True)
class Side:
    """One spec to compare: what it is called, its composed document, its IR."""

    label: str
    document: Mapping[str, Any]
    api: Api


def compare_apis(old: Side, new: Side, emit: Emit) -> None:
    """Every rule, over the whole API."""
    walk = SchemaWalk(old.document, new.document, emit)
    old_ops, new_ops = _raw_operations(old), _raw_operations(new)
    moved = _moved(old_ops, new_ops)
    for key, pair in old_ops.items():
        if key not in new_ops and key not in moved:
            rule = (
                "api-removed-with-deprecation"
                if pair.raw.get("deprecated")
                else ("api-removed-without-deprecation")
            )
            emit.operation(
                pair.op, pair.pointer, Level.BREAKING, rule, _op_messages(pair.op, "removed")
            )
    moved_here = {new_key: old_key for old_key, new_key in moved.items()}
    for key, pair in new_ops.items():
        old_key = key if key in old_ops else moved_here.get(key)
        if old_key is None:
            emit.operation(
                pair.op,
                pair.pointer,
                Level.ADDITIVE,
                "endpoint-added",
                _op_messages(pair.op, "added"),
            )
            continue
        if old_key != key:
            emit.operation(
                pair.op,
                pair.pointer,
                Level.BREAKING,
                "api-path-changed",
                {"wire": f"{pair.op.operation_id} moved from {old_key} to {key}"},
            )
        _compare_operation(walk, emit, old, new, old_ops[old_key], pair)
    _compare_components(emit, old, new)


# ---------------------------------------------------------------------- operations


@dataclass(frozen=True)
class OperationPair:
    """An operation as the IR and as the document say it, with its path item."""

    op: Operation
    raw: Mapping[str, Any]
    item: Mapping[str, Any]
    pointer: str


def _raw_operations(side: Side) -> dict[str, OperationPair]:
    by_id = {op.operation_id: op for op in side.api.operations}
    found = {}
    for route, method, raw, item in iter_operations(side.document):
        pointer = "#/paths/" + route.replace("~", "~0").replace("/", "~1") + f"/{method}"
        found[f"{method.upper()} {route}"] = OperationPair(
            by_id[str(raw["operationId"])], raw, item, pointer
        )
    return found


def _moved(
    old_ops: Mapping[str, OperationPair], new_ops: Mapping[str, OperationPair]
) -> dict[str, str]:
    """Old key -> new key of each operation whose path changed and ``operationId`` did not."""
    gone = {v.op.operation_id: k for k, v in old_ops.items() if k not in new_ops}
    came = {v.op.operation_id: k for k, v in new_ops.items() if k not in old_ops}
    return {gone[op_id]: came[op_id] for op_id in gone.keys() & came.keys()}


def _op_messages(op: Operation, verb: str) -> dict[str, str]:
    return {
        "wire": f"{op.method} {op.path} ({op.operation_id}) {verb}",
        "python": f"{client_call(op)} {verb}",
        "cli": f"`{command(op)}` {verb}",
        "typescript": f"{'.'.join(['client', *op.command_path])}() {verb}",
    }


def _compare_operation(
    walk: SchemaWalk, emit: Emit, old: Side, new: Side, before: OperationPair, after: OperationPair
) -> None:
    pointer = after.pointer
    _names(emit, before.op, after.op, pointer)
    _deprecation(emit, before.raw, after.raw, after.op, pointer)
    _documentation(emit, before.raw, after.raw, after.op, pointer)
    _examples(emit, before.op, after.op, pointer)
    _permission(emit, before.op, after.op, pointer)
    _security(emit, old, new, before.raw, after.raw, after.op, pointer)
    _parameters(walk, emit, old, new, before, after, pointer)
    _request_body(walk, emit, old, new, before, after, pointer)
    _responses(walk, emit, old, new, before, after, pointer)


def _names(emit: Emit, old_op: Operation, new_op: Operation, pointer: str) -> None:
    if old_op.operation_id != new_op.operation_id:
        emit.operation(
            new_op,
            f"{pointer}/operationId",
            Level.BREAKING,
            "api-operation-id-changed",
            {
                "python": f"{old_op.parameters_model or old_op.endpoint_constant} is now "
                f"{new_op.parameters_model or new_op.endpoint_constant}"
                f" (operationId {old_op.operation_id} -> {new_op.operation_id})",
                "typescript": f"{old_op.parameters_model or old_op.operation_id} is now "
                f"{new_op.parameters_model or new_op.operation_id}"
                f" (operationId {old_op.operation_id} -> {new_op.operation_id})",
            },
        )
    if old_op.command_path != new_op.command_path:
        ts_old = ".".join(["client", *old_op.command_path])
        ts_new = ".".join(["client", *new_op.command_path])
        emit.operation(
            new_op,
            f"{pointer}/x-command-path",
            Level.BREAKING,
            "api-command-path-changed",
            {
                "python": f"{client_call(old_op)} is now {client_call(new_op)}",
                "cli": f"`{command(old_op)}` is now `{command(new_op)}`",
                "typescript": f"{ts_old}() is now {ts_new}()",
            },
        )


def _deprecation(
    emit: Emit, old_raw: Mapping[str, Any], new_raw: Mapping[str, Any], op: Operation, pointer: str
) -> None:
    """oasdiff calls a deprecation informational; semantic versioning calls it a minor change."""
    was, now = bool(old_raw.get("deprecated")), bool(new_raw.get("deprecated"))
    if was != now:
        emit.operation(
            op,
            f"{pointer}/deprecated",
            Level.ADDITIVE if now else Level.PATCH,
            "endpoint-deprecated" if now else "endpoint-reactivated",
            _op_messages(op, "deprecated" if now else "no longer deprecated"),
        )


def _documentation(
    emit: Emit, old_raw: Mapping[str, Any], new_raw: Mapping[str, Any], op: Operation, pointer: str
) -> None:
    """Summaries and descriptions are printed in docstrings, help and doc comments."""
    for key in ("summary", "description"):
        if old_raw.get(key) != new_raw.get(key):
            emit.operation(
                op,
                f"{pointer}/{key}",
                Level.PATCH,
                "api-description-changed",
                {s: f"{_op_messages(op, '')[s].strip()}: {key} changed" for s in DOC_SURFACES},
            )


def _examples(emit: Emit, old_op: Operation, new_op: Operation, pointer: str) -> None:
    """Request and response examples are printed in READMEs, help text and the page."""
    before = [old_op.request_example_json, *(r.example_json for r in old_op.responses)]
    after = [new_op.request_example_json, *(r.example_json for r in new_op.responses)]
    if before != after:
        emit.operation(
            new_op,
            pointer,
            Level.PATCH,
            "api-example-changed",
            {s: f"{_op_messages(new_op, '')[s].strip()}: examples changed" for s in DOC_SURFACES},
        )


def _permission(emit: Emit, old_op: Operation, new_op: Operation, pointer: str) -> None:
    """A token holding the old permission may lack the new one: its calls start failing."""
    if old_op.required_permission != new_op.required_permission:
        emit.operation(
            new_op,
            f"{pointer}/x-required-permission",
            Level.BREAKING,
            "api-permission-changed",
            {
                "wire": f"{new_op.operation_id} now needs permission "
                f"{new_op.required_permission!r}, not {old_op.required_permission!r}",
            },
        )


def _security(
    emit: Emit,
    old: Side,
    new: Side,
    old_raw: Mapping[str, Any],
    new_raw: Mapping[str, Any],
    op: Operation,
    pointer: str,
) -> None:
    """Security requirements are alternatives: dropping one refuses callers who used it."""
    before = _requirements(old.document, old_raw)
    after = _requirements(new.document, new_raw)
    for requirement in sorted(before - after, key=str):
        if any(other <= requirement for other in after):
            continue  # a caller sending these schemes still satisfies a new alternative
        emit.operation(
            op,
            f"{pointer}/security",
            Level.BREAKING,
            "api-security-requirement-removed",
            {"wire": f"{op.operation_id} no longer accepts {_requirement_text(requirement)}"},
        )
    for requirement in sorted(after - before, key=str):
        if any(other <= requirement for other in before):
            continue  # no caller gains anything: an old alternative already asked less
        emit.operation(
            op,
            f"{pointer}/security",
            Level.ADDITIVE,
            "api-security-requirement-added",
            {"wire": f"{op.operation_id} now also accepts {_requirement_text(requirement)}"},
        )


Requirement = frozenset[tuple[str, tuple[str, ...]]]


def _requirements(document: Mapping[str, Any], raw: Mapping[str, Any]) -> frozenset[Requirement]:
    """The operation's security alternatives (its own, else the document's); ``{}`` is anonymous."""
    listed = raw["security"] if "security" in raw else document.get("security", [])
    if not listed:
        return frozenset({frozenset()})
    return frozenset(
        frozenset((str(name), tuple(sorted(scopes or []))) for name, scopes in item.items())
        for item in listed
    )


def _requirement_text(requirement: Requirement) -> str:
    if not requirement:
        return "anonymous calls"
    return " with ".join(
        name + (f" (scopes {', '.join(scopes)})" if scopes else "")
        for name, scopes in sorted(requirement)
    )


# ---------------------------------------------------------------------- parameters

ParameterNodes = dict[tuple[str, str], tuple[Any, str]]
"""(name, location) -> (the parameter's schema node, the parameter's pointer)."""


def _parameters(
    walk: SchemaWalk,
    emit: Emit,
    old: Side,
    new: Side,
    before: OperationPair,
    after: OperationPair,
    pointer: str,
) -> None:
    old_op, new_op = before.op, after.op
    old_nodes, new_nodes = (
        _parameter_nodes(old.document, before),
        _parameter_nodes(new.document, after),
    )
    old_by_key = {(p.name, p.location): p for p in old_op.parameters}
    new_by_key = {(p.name, p.location): p for p in new_op.parameters}
    new_by_name = {p.name: p for p in new_op.parameters}
    old_names = {p.name for p in old_op.parameters}
    for key, parameter in old_by_key.items():
        if key not in new_by_key:
            place = _parameter_place(
                old_op, new_op, parameter, old_nodes[key][1], old_nodes[key][1]
            )
            _parameter_removed(emit, place, parameter, new_by_name.get(parameter.name))
    for key, parameter in new_by_key.items():
        node, node_pointer = new_nodes[key]
        if key not in old_by_key:
            if parameter.name not in old_names:  # else reported as moved
                place = _parameter_place(old_op, new_op, parameter, node_pointer, node_pointer)
                kind = "required" if parameter.required else "optional"
                level = Level.BREAKING if parameter.required else Level.ADDITIVE
                emit(place, level, f"new-{kind}-request-parameter", f"added, {kind}")
            continue
        old_node, old_pointer = old_nodes[key]
        place = _parameter_place(old_op, new_op, parameter, node_pointer, old_pointer)
        _parameter_changed(emit, place, old_by_key[key], parameter)
        walk.compare(place.child("schema", "schema", property_name=None), old_node, node)


def _parameter_removed(
    emit: Emit, place: Place, parameter: Parameter, same_name: Parameter | None
) -> None:
    if same_name is not None:
        surfaces = ["wire"]
        if "path" in (parameter.location, same_name.location):
            surfaces.append("typescript")  # path parameters and options are separate members
        emit(
            place,
            Level.BREAKING,
            "request-parameter-moved",
            f"moved from the {parameter.location} to the {same_name.location}",
            removed=True,
            surfaces=tuple(surfaces),
        )
        return
    rule = "request-parameter-removed"
    if parameter.deprecated:
        rule = "request-parameter-removed-with-deprecation"
    emit(place, Level.BREAKING, rule, "removed", removed=True)


def _parameter_changed(emit: Emit, place: Place, old: Parameter, new: Parameter) -> None:
    if old.required != new.required:
        emit(
            place,
            Level.BREAKING if new.required else Level.ADDITIVE,
            f"request-parameter-became-{'required' if new.required else 'optional'}",
            "now required" if new.required else "now optional",
        )
    if old.deprecated != new.deprecated:
        emit(
            place,
            Level.ADDITIVE if new.deprecated else Level.PATCH,
            "request-parameter-deprecated" if new.deprecated else "request-parameter-reactivated",
            "deprecated" if new.deprecated else "no longer deprecated",
        )
    if old.description != new.description:
        emit(
            place,
            Level.PATCH,
            "request-parameter-description-changed",
            "description changed",
            surfaces=DOC_SURFACES,
        )


def _parameter_place(
    old_op: Operation, new_op: Operation, parameter: Parameter, pointer: str, old_pointer: str
) -> Place:
    return Place(
        direction="parameter",
        old_op=old_op,
        new_op=new_op,
        pointer=pointer,
        old_pointer=old_pointer,
        model=None,
        field=(parameter.name,),
        body_path=(parameter.name,),
        parameter=parameter,
    )


def _parameter_nodes(document: Mapping[str, Any], pair: OperationPair) -> ParameterNodes:
    """Each parameter's schema and pointer; the operation's own replace its path's."""
    found: ParameterNodes = {}
    sources = [
        ("parameters", pair.item, pair.pointer.rsplit("/", 1)[0]),
        ("parameters", pair.raw, pair.pointer),
    ]
    for key, holder, base in sources:
        for index, raw in enumerate(holder.get(key, []) or []):
            ref = str(raw.get("$ref", "")) if isinstance(raw, Mapping) else ""
            where = ref if ref.startswith("#/") else f"{base}/parameters/{index}"
            parameter = dereference(document, raw)
            if isinstance(parameter, Mapping):
                found[(str(parameter.get("name")), str(parameter.get("in")))] = (
                    parameter.get("schema", {}),
                    where,
                )
    return found


# ---------------------------------------------------------------------- bodies


def _request_body(
    walk: SchemaWalk,
    emit: Emit,
    old: Side,
    new: Side,
    before: OperationPair,
    after: OperationPair,
    pointer: str,
) -> None:
    old_body = _node(old.document, before.raw.get("requestBody"))
    new_body = _node(new.document, after.raw.get("requestBody"))
    place = Place(
        "request",
        before.op,
        after.op,
        f"{pointer}/requestBody",
        f"{before.pointer}/requestBody",
        None,
    )
    if old_body is None and new_body is None:
        return
    if old_body is None or new_body is None:
        added = new_body is not None
        required = bool((new_body or {}).get("required"))
        if added:
            level = Level.BREAKING if required else Level.ADDITIVE
            rule = f"added-{'required' if required else 'optional'}-request-body"
            emit(place, level, rule, f"a {'required' if required else 'optional'} body added")
        else:
            emit(place, Level.BREAKING, "request-body-removed", "the body removed", removed=True)
        return
    was, now = bool(old_body.get("required")), bool(new_body.get("required"))
    if was != now:
        emit(
            place,
            Level.BREAKING if now else Level.ADDITIVE,
            f"request-body-became-{'required' if now else 'optional'}",
            "the body is now required" if now else "the body is now optional",
        )
    _compare_json_content(
        walk,
        emit,
        place,
        old_body,
        new_body,
        removed=("request-body-media-type-removed", "application/json no longer accepted"),
        added=(Level.ADDITIVE, "request-body-media-type-added", "application/json now accepted"),
    )


def _responses(
    walk: SchemaWalk,
    emit: Emit,
    old: Side,
    new: Side,
    before: OperationPair,
    after: OperationPair,
    pointer: str,
) -> None:
    old_responses = before.raw.get("responses", {})
    new_responses = after.raw.get("responses", {})
    for status in old_responses:
        if status not in new_responses:
            success = str(status).startswith("2")
            place = _response_place(before, after, pointer, status)
            emit(
                place,
                Level.BREAKING if success else Level.PATCH,
                f"response-{'success' if success else 'non-success'}-status-removed",
                f"status {status} no longer returned",
                removed=True,
                surfaces=("wire", "python", "typescript") if success else ("wire",),
            )
    for status, raw in new_responses.items():
        place = _response_place(before, after, pointer, status)
        if status not in old_responses:
            success = str(status).startswith("2")
            emit(
                place,
                Level.BREAKING if success else Level.PATCH,
                f"response-{'success' if success else 'non-success'}-status-added",
                f"status {status} may be returned",
                surfaces=("wire",),
            )
            continue
        old_response = _node(old.document, old_responses[status]) or {}
        new_response = _node(new.document, raw) or {}
        _compare_json_content(
            walk,
            emit,
            place,
            old_response,
            new_response,
            removed=("response-media-type-removed", "no JSON body any more"),
            added=(Level.BREAKING, "response-media-type-added", "now has a JSON body"),
        )
        _response_headers(
            walk,
            emit,
            place,
            status,
            _headers(old.document, old_response),
            _headers(new.document, new_response),
        )


def _response_place(
    before: OperationPair, after: OperationPair, pointer: str, status: object
) -> Place:
    return Place(
        "response",
        before.op,
        after.op,
        f"{pointer}/responses/{status}",
        f"{before.pointer}/responses/{status}",
        None,
    )


def _response_headers(
    walk: SchemaWalk,
    emit: Emit,
    place: Place,
    status: object,
    old_headers: dict[str, _Header],
    new_headers: dict[str, _Header],
) -> None:
    """A response's headers, matched by name without regard to case (as oasdiff judges
    them): one that was required is a promise, so removing it or making it optional
    breaks callers that read it; an optional one removed is a patch; one added, or made
    required, adds; their schemas compare as the response's values do. What changed in
    a shared header (``#/components/headers/...``) is reported there, once, with the
    operations it touches."""
    for key, old_header in old_headers.items():
        if key in new_headers:
            continue
        required = old_header.node.get("required") is True
        emit(
            _use_place(place, status, old_header, old_header),
            Level.BREAKING if required else Level.PATCH,
            f"{'required' if required else 'optional'}-response-header-removed",
            "no longer sent" + (" (it was required)" if required else ""),
            removed=True,
            surfaces=("wire",),
        )
    for key, header in new_headers.items():
        required = header.node.get("required") is True
        if key not in old_headers:
            emit(
                _use_place(place, status, header, header),
                Level.ADDITIVE,
                "response-header-added",
                "now sent" + (" on every response" if required else ""),
                surfaces=("wire",),
            )
            continue
        old_header = old_headers[key]
        if old_header.component is not None and old_header.component == header.component:
            header_place = replace(
                place,
                pointer=f"#/components/headers/{_pointer_token(header.component)}",
                old_pointer=f"#/components/headers/{_pointer_token(old_header.component)}",
                header=header.name,
            )
        else:
            header_place = _use_place(place, status, old_header, header)
        if (old_header.node.get("required") is True) != required:
            emit(
                header_place,
                Level.ADDITIVE if required else Level.BREAKING,
                f"response-header-became-{'required' if required else 'optional'}",
                "now sent on every response" if required else "now optional: it may be absent",
                surfaces=("wire",),
            )
        old_schema, new_schema = old_header.node.get("schema"), header.node.get("schema")
        if old_schema is not None and new_schema is not None:
            walk.compare(header_place.child("schema", ""), old_schema, new_schema)


@dataclass(frozen=True)
class _Header:
    """A response header: its name as written, its object, and the component it refers to."""

    name: str
    node: Mapping[str, Any]
    component: str | None


_HEADERS_REF = "#/components/headers/"


def _headers(document: Mapping[str, Any], response: Mapping[str, Any]) -> dict[str, _Header]:
    """A response's headers by lower-case name."""
    found: dict[str, _Header] = {}
    for name, raw in (response.get("headers") or {}).items():
        node = _node(document, raw)
        if node is None:
            continue
        ref = raw.get("$ref") if isinstance(raw, Mapping) else None
        component = None  # a header written in place, or referred to elsewhere
        if isinstance(ref, str) and ref.startswith(_HEADERS_REF):
            component = ref[len(_HEADERS_REF) :]
        found[str(name).lower()] = _Header(str(name), node, component)
    return found


def _use_place(place: Place, status: object, old: _Header, new: _Header) -> Place:
    """A header where a response lists it."""
    return replace(
        place,
        pointer=f"{place.pointer}/headers/{_pointer_token(new.name)}",
        old_pointer=f"{place.old_pointer}/headers/{_pointer_token(old.name)}",
        header=f"{new.name} of the {status} response",
    )


def _pointer_token(name: str) -> str:
    """``name`` as one JSON Pointer token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")


def _compare_json_content(
    walk: SchemaWalk,
    emit: Emit,
    place: Place,
    old_holder: Mapping[str, Any],
    new_holder: Mapping[str, Any],
    *,
    removed: tuple[str, str],
    added: tuple[Level, str, str],
) -> None:
    """A body's or a response's ``application/json`` schemas, compared; or the media
    type's removal (always breaking) or addition (``added``'s level), as a change."""
    old_schema = _json_schema(old_holder)
    new_schema = _json_schema(new_holder)
    if old_schema is not None and new_schema is not None:
        walk.compare(
            place.child("content/application~1json/schema", "", property_name=None),
            old_schema,
            new_schema,
        )
    elif old_schema is not None:
        emit(place, Level.BREAKING, removed[0], removed[1], removed=True)
    elif new_schema is not None:
        emit(place, *added)


def _node(document: Mapping[str, Any], node: Any) -> Mapping[str, Any] | None:
    if node is None:
        return None
    resolved = dereference(document, node)
    return resolved if isinstance(resolved, Mapping) else None


def _json_schema(holder: Mapping[str, Any]) -> Any:
    media = holder.get("content", {}).get("application/json")
    return media.get("schema") if isinstance(media, Mapping) else None


# ---------------------------------------------------------------------- components


def _compare_components(emit: Emit, old: Side, new: Side) -> None:
    """Every component schema is a Python model and a TypeScript type, used or not."""
    old_models = {m.name: m for m in old.api.models}
    new_models = {m.name: m for m in new.api.models}
    op = (new.api.operations or old.api.operations)[0]
    for name in sorted(old_models.keys() - new_models.keys()):
        if name.endswith("Params"):
            continue  # an operation's parameters model: its operationId is reported
        emit.operation(
            op,
            f"#/components/schemas/{name}",
            Level.BREAKING,
            "api-schema-removed",
            {"python": f"model {name} removed", "typescript": f"type {name} removed"},
        )
    for name in sorted(new_models.keys() - old_models.keys()):
        if name.endswith("Params"):
            continue
        emit.operation(
            op,
            f"#/components/schemas/{name}",
            Level.ADDITIVE,
            "api-schema-added",
            {"python": f"model {name} added", "typescript": f"type {name} added"},
        )
    old_schemes = old.document.get("components", {}).get("securitySchemes", {})
    new_schemes = new.document.get("components", {}).get("securitySchemes", {})
    for name, scheme in new_schemes.items():
        was = old_schemes.get(name)
        if was is not None and _scheme_kind(was) != _scheme_kind(scheme):
            emit.operation(
                op,
                f"#/components/securitySchemes/{name}",
                Level.BREAKING,
                "api-security-component-type-changed",
                {
                    "wire": f"security scheme {name} changed from {_scheme_kind(was)}"
                    f" to {_scheme_kind(scheme)}"
                },
            )


def _scheme_kind(scheme: Mapping[str, Any]) -> str:
    return json.dumps({k: scheme.get(k) for k in ("type", "scheme", "in", "name")}, sort_keys=True)
