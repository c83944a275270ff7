"""The generated half of the client: endpoints and the ``client.create.service.build`` tree.

Each level of the tree is printed four times, once per `Flavor`: sync or
async, returning the parsed result or the raw response. The runtime's
`ClientCore` / `AsyncClientCore` do the work; these classes only name it.
Everything a method prints (its arguments, return type, the core call it
makes, its docstring) is computed here as a `ClientMethod`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from ..ir import Api, Operation, Resource
from ..names import ClassName, PythonIdentifier
from ..templating import render_template
from . import RenderedFile

__all__ = [
    "FLAVORS",
    "ClientMethod",
    "Flavor",
    "Level",
    "client_method",
    "render_python_client",
]

METHOD_INDENT = " " * 8


@dataclass(frozen=True)
class Flavor:
    """One way to call: what the classes are named, what they hold and what a call returns."""

    prefix: str
    """Before a level's class stem: ``Async`` or nothing."""
    suffix: str
    """After it: ``Resource`` or ``RawResource``."""
    core: str
    """The runtime class the calls go through."""
    asynchronous: bool
    raw: bool
    root: str
    """The class at the root of the tree: the client itself, or its raw view."""


FLAVORS = (
    Flavor("", "Resource", "ClientCore", False, False, "Client"),
    Flavor("Async", "Resource", "AsyncClientCore", True, False, "AsyncClient"),
    Flavor("", "RawResource", "ClientCore", False, True, "RawClient"),
    Flavor("Async", "RawResource", "AsyncClientCore", True, True, "AsyncRawClient"),
)


@dataclass(frozen=True)
class ClientMethod:
    """One operation as one flavour's method prints it."""

    operation: Operation
    define: str
    """``def`` or ``async def``."""
    arguments: tuple[str, ...]
    """Each keyword-only argument before ``skip_validation``: ``per_page: int | NotGiven = ...``."""
    returns: str
    """The return annotation: ``Widget``, ``None``, ``SyncPage[Widget]``, ``RawResponse[...]``."""
    call: str
    """What the body returns up to the call's arguments: ``(await self._core._call``."""
    finish: str
    """What follows the call's arguments: ``.parse()``, ``).parse()`` or nothing."""
    parameters: tuple[tuple[str, str], ...]
    """Each parameter's wire name and argument name, as the call hands them to the core."""
    data: str
    """``data``, or ``NOT_GIVEN`` when the operation takes no body."""
    docstring: str
    """The docstring's text, its lines after the first indented for the method body."""


@dataclass(frozen=True)
class Level:
    """One level of the call tree in one flavour."""

    resource: Resource
    methods: tuple[ClientMethod, ...]


def render_python_client(api: Api) -> list[RenderedFile]:
    path = PurePosixPath("python") / api.package.import_name / "_client.py"
    content = render_template(
        "python/_client.py.jinja",
        api=api,
        trees=tuple(
            (flavor, tuple(_level(flavor, resource) for resource in api.resources))
            for flavor in FLAVORS
        ),
        endpoint_types={o.operation_id: endpoint_type(o) for o in api.operations},
        examples=tuple(_example(o) for o in api.operations),
        models=_models(api),
        typing_imports=_typing_imports(api),
        runtime_imports=_runtime_imports(api),
    )
    return [RenderedFile(path, content)]


def endpoint_type(operation: Operation) -> str:
    """What the `Endpoint` gives per call: the result model, ``None``, or a list's item model."""
    if operation.pagination is not None:
        return operation.pagination.item_model
    return operation.result_model or "None"


def client_method(flavor: Flavor, operation: Operation) -> ClientMethod:
    item = result = endpoint_type(operation)
    paginated = operation.pagination is not None
    define = "async def" if flavor.asynchronous else "def"
    core = "self._core._call_page" if paginated else "self._core._call"
    if paginated:
        result = f"{'AsyncPage' if flavor.asynchronous else 'SyncPage'}[{item}]"
    if flavor.raw:
        returns, finish = f"RawResponse[{result}]", ""
        call = f"await {core}" if flavor.asynchronous else core
    elif flavor.asynchronous and paginated:
        # Not a coroutine: awaitable (the first page) and async-iterable (every item).
        define, returns, finish = "def", f"AsyncPaginator[{item}]", ""
        call = "self._core._paginate"
    elif flavor.asynchronous:
        returns, call, finish = result, f"(await {core}", ").parse()"
    else:
        returns, call, finish = result, core, ".parse()"
    return ClientMethod(
        operation=operation,
        define=define,
        arguments=_arguments(operation),
        returns=returns,
        call=call,
        finish=finish,
        parameters=tuple((p.name, p.python_name) for p in operation.parameters),
        data="data" if operation.has_body else "NOT_GIVEN",
        docstring=_docstring(operation, flavor),
    )


def _level(flavor: Flavor, resource: Resource) -> Level:
    return Level(resource, tuple(client_method(flavor, o) for o in resource.operations))


def _arguments(operation: Operation) -> tuple[str, ...]:
    """Required parameters first, then optional ones, then ``data`` if there is a body."""
    required = [f"{p.python_name}: {p.python_type}" for p in operation.parameters if p.required]
    optional = [
        f"{p.python_name}: {p.python_type} | NotGiven = NOT_GIVEN"
        for p in operation.parameters
        if not p.required
    ]
    body = []
    if operation.request_model is not None:
        annotation = f"{operation.request_model} | Mapping[str, Any]"
        body.append(
            f"data: {annotation}"
            if operation.body_required
            else f"data: {annotation} | NotGiven = NOT_GIVEN"
        )
    return (*required, *optional, *body)


def _docstring(operation: Operation, flavor: Flavor) -> str:
    checked = "Parameters and ``data`` are" if operation.has_body else "Parameters are"
    lines = [
        f"{operation.summary}: {operation.description}",
        "",
        f"``{operation.method} {operation.path}``, permission ``{operation.required_permission}``.",
        f"{checked} checked against the spec before anything is sent",
        "(`RequestValidationError`); ``skip_validation=True`` sends them unchecked.",
    ]
    if operation.pagination is not None:
        if flavor.asynchronous and not flavor.raw:
            lines += [
                "``await`` it for the first page, or ``async for`` over it for every item",
                "of every page, each page fetched as it is reached.",
            ]
        else:
            lines += [
                "The first page; iterating it yields every item of every page, each page",
                "fetched as it is reached.",
            ]
    if operation.result_model is None and operation.pagination is None:
        lines.append(f"A {operation.success_status} without a body: returns ``None``.")
    return "\n".join([lines[0], *(METHOD_INDENT + line if line else "" for line in lines[1:])])


def _example(operation: Operation) -> str:
    """``client.create.service.build(project_id=..., data=...)`` for the module docstring."""
    arguments = [f"{p.python_name}=..." for p in operation.parameters if p.required]
    if operation.has_body:
        arguments.append("data=...")
    levels = ".".join(PythonIdentifier(word) for word in operation.command_path)
    return f"client.{levels}({', '.join(arguments)})"


def _models(api: Api) -> tuple[ClassName, ...]:
    """The models the client names, once each: of `Api.client_models`, all but the results
    of paginated lists (a page holds their items)."""
    named = {
        name
        for o in api.operations
        for name in (o.parameters_model, o.request_model, o.success_model, endpoint_type(o))
    }
    return tuple(name for name in api.client_models if name in named)


def _typing_imports(api: Api) -> tuple[str, ...]:
    """The ``from typing import`` line, if any: ``Any`` for bodies given as mappings,
    ``Literal`` for parameters with choices."""
    names = []
    if any(o.has_body for o in api.operations):
        names.append("Any")
    if any(p.python_type.startswith("Literal[") for o in api.operations for p in o.parameters):
        names.append("Literal")
    return (f"from typing import {', '.join(names)}",) if names else ()


def _runtime_imports(api: Api) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each runtime module the client imports from, with the names it takes (isort order)."""
    core = ("NOT_GIVEN", "AsyncClientCore", "ClientCore", "Endpoint", "NotGiven", "RawResponse")
    if not any(o.pagination is not None for o in api.operations):
        return (("_client_base", core),)
    return (("_client_base", core), ("_pagination", ("AsyncPage", "AsyncPaginator", "SyncPage")))
