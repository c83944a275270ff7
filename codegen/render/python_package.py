"""The publishable package around the models: metadata, README, exports, the runtime.

The README's examples are computed here, not in the template: the quick
start's body is the spec's request example cut down to what its schemas
require (and checked to still validate), and the client defaults it quotes
are read from the runtime's ``_constants.py``, so neither can drift from
what the package does.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema_rs

from ..ir import ECMA_PATTERN_KEY, Api, Operation
from ..literals import python_literal
from ..names import PythonIdentifier, split_words
from ..spec_walk import components_root, dereference, in_example, iter_nodes
from ..templating import render_template
from . import RenderedFile, license_file

__all__ = [
    "RUNTIME_DIR",
    "PackageDocs",
    "QuickStart",
    "package_docs",
    "render_python_package",
    "runtime_files",
]

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime" / "python"
INDENT = "    "


@dataclass(frozen=True)
class QuickStart:
    """One operation as the README shows it called."""

    operation: Operation
    call: str
    """``create.service.build``: the levels below ``client.`` or ``client.with_raw_response.``."""
    arguments: str
    """The path parameters as keyword arguments, each followed by ``, ``."""
    body: str
    """The request body as a Python literal, at top level (``body = ...``)."""
    result_variable: str
    """``service`` for a `BuildService`."""
    result_id: bool
    """Whether the result has an ``id`` to print."""


@dataclass(frozen=True)
class ClientDefaults:
    """The runtime's defaults, as the README quotes them."""

    token_env: str
    base_url_env: str
    log_env: str
    base_url: str
    timeout: str
    connect_timeout: str
    max_retries: str
    initial_retry_delay: str
    max_retry_delay: str
    max_retry_after: str


@dataclass(frozen=True)
class PackageDocs:
    """Everything the README and pyproject print beyond the IR."""

    quick_start: QuickStart
    defaults: ClientDefaults
    urls: tuple[tuple[str, str], ...]
    """``[project.urls]`` entries from the spec's ``info``."""


def runtime_files() -> list[Path]:
    """The hand-written runtime modules copied into the package."""
    return sorted(path for path in RUNTIME_DIR.rglob("*.py") if "__pycache__" not in path.parts)


def render_python_package(api: Api) -> list[RenderedFile]:
    package = api.package
    docs = package_docs(api)
    root = PurePosixPath("python")
    files = [
        RenderedFile(
            root / "pyproject.toml",
            render_template("python/pyproject.toml.jinja", api=api, docs=docs),
        ),
        RenderedFile(
            root / "README.md", render_template("python/README.md.jinja", api=api, docs=docs)
        ),
        RenderedFile(
            root / package.import_name / "__init__.py",
            render_template("python/__init__.py.jinja", api=api),
        ),
        RenderedFile(root / package.import_name / "py.typed", ""),
        license_file(root),
    ]
    files += [
        RenderedFile(
            root / path.relative_to(RUNTIME_DIR).as_posix(),
            path.read_text(encoding="utf-8"),
        )
        for path in runtime_files()
    ]
    return files


def package_docs(api: Api) -> PackageDocs:
    document = _spec_document(api)
    operation = next((o for o in api.operations if o.request_model is not None), None)
    if operation is None:
        raise RuntimeError("the README's quick start needs an operation with a request body")
    info = document.get("info", {})
    contact = info.get("contact", {}) if isinstance(info, Mapping) else {}
    url = contact.get("url") if isinstance(contact, Mapping) else None
    return PackageDocs(
        quick_start=_quick_start(api, document, operation),
        defaults=_client_defaults(),
        urls=_project_urls(api, url if isinstance(url, str) else ""),
    )


def _project_urls(api: Api, documentation: str) -> tuple[tuple[str, str], ...]:
    """PyPI's sidebar: the repository (release.toml), its issues and changelog, the API docs."""
    repository = api.package.repository
    urls = [("Documentation", documentation)] if documentation else []
    if repository:
        urls = [
            ("Homepage", repository),
            *urls,
            ("Repository", repository),
            ("Issues", f"{repository}/issues"),
            ("Changelog", f"{repository}/blob/main/CHANGELOG.md"),
        ]
    return tuple(urls)


# --------------------------------------------------------------------------- the quick start


def _spec_document(api: Api) -> dict[str, Any]:
    """The spec as written: the model schema with each pattern back in its ECMA-262 form."""
    document: dict[str, Any] = json.loads(api.model_schema_json)
    for path, node in iter_nodes(document):
        if isinstance(node, dict) and ECMA_PATTERN_KEY in node and not in_example(path):
            node["pattern"] = node.pop(ECMA_PATTERN_KEY)
    return document


def _quick_start(api: Api, document: Mapping[str, Any], operation: Operation) -> QuickStart:
    result = operation.result_model
    model = next((m for m in api.models if m.name == result), None)
    return QuickStart(
        operation=operation,
        call=".".join(operation.command_path),
        arguments="".join(
            f"{p.python_name}={python_literal(p.example)}, " for p in operation.path_parameters
        ),
        body=python_literal(_minimal_body(document, operation)),
        result_variable=PythonIdentifier(split_words(result)[-1]) if result else "result",
        result_id=model is not None and any(f.json_name == "id" for f in model.fields),
    )


def _operation_node(document: Mapping[str, Any], operation: Operation) -> Mapping[str, Any]:
    node = document["paths"][operation.path][operation.method.lower()]
    return node if isinstance(node, Mapping) else {}


def _minimal_body(document: Mapping[str, Any], operation: Operation) -> Any:
    """The first request example, cut to the keys its schemas require.

    An object whose schema requires nothing keeps the example's keys that are
    not deprecated (an empty ``billing`` would be valid but useless). When the
    cut body no longer validates against the spec, the whole example is used.
    """
    body = dereference(document, _operation_node(document, operation).get("requestBody", {}))
    media = body.get("content", {}).get("application/json", {}) if isinstance(body, Mapping) else {}
    schema = media.get("schema", {})
    examples = media.get("examples", {})
    values = [dereference(document, e) for e in examples.values()] if examples else []
    values = [e["value"] for e in values if isinstance(e, Mapping) and "value" in e]
    if "example" in media:
        values.insert(0, media["example"])
    if not values:
        return {}
    example = values[0]
    minimal = _cut(document, schema, example)
    validator = jsonschema_rs.Draft202012Validator(
        components_root(document, schema), validate_formats=False
    )
    return minimal if validator.is_valid(minimal) else example


def _cut(document: Mapping[str, Any], schema: Any, value: Any) -> Any:
    schema = dereference(document, schema)
    if not isinstance(schema, Mapping) or not isinstance(value, dict):
        return value
    if "oneOf" in schema or "anyOf" in schema:
        for branch in schema.get("oneOf", schema.get("anyOf", [])):
            resolved = dereference(document, branch)
            if isinstance(resolved, Mapping) and set(resolved.get("required", [])) <= set(value):
                return _cut(document, resolved, value)
        return value
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return value
    required = schema.get("required", [])
    kept = {
        key: item
        for key, item in value.items()
        if (key in required if required else not _deprecated(document, properties.get(key)))
    }
    return {key: _cut(document, properties.get(key, {}), item) for key, item in kept.items()}


def _deprecated(document: Mapping[str, Any], schema: Any) -> bool:
    if isinstance(schema, Mapping) and schema.get("deprecated") is True:
        return True
    resolved = dereference(document, schema)
    return isinstance(resolved, Mapping) and resolved.get("deprecated") is True


# --------------------------------------------------------------------------- the runtime's defaults


def _client_defaults() -> ClientDefaults:
    constants = _runtime_constants(RUNTIME_DIR / "northflank_build" / "_constants.py")
    return ClientDefaults(
        token_env=str(constants["TOKEN_ENV"]),
        base_url_env=str(constants["BASE_URL_ENV"]),
        log_env=str(constants["LOG_ENV"]),
        base_url=str(constants["DEFAULT_BASE_URL"]),
        timeout=_number(constants["DEFAULT_TIMEOUT"]),
        connect_timeout=_number(constants["DEFAULT_CONNECT_TIMEOUT"]),
        max_retries=_number(constants["DEFAULT_MAX_RETRIES"]),
        initial_retry_delay=_number(constants["INITIAL_RETRY_DELAY"]),
        max_retry_delay=_number(constants["MAX_RETRY_DELAY"]),
        max_retry_after=_number(constants["MAX_RETRY_AFTER"]),
    )


class _ConstantsDict(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise RuntimeError(f"runtime/python/northflank_build/_constants.py has no literal {key}")


def _runtime_constants(path: Path) -> dict[str, Any]:
    """The module's ``NAME: Final = <literal>`` assignments."""
    found: dict[str, Any] = _ConstantsDict()
    for statement in ast.parse(path.read_text(encoding="utf-8")).body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        if statement.value is not None:
            try:
                found[statement.target.id] = ast.literal_eval(statement.value)
            except (ValueError, TypeError, SyntaxError):
                continue
    return found


def _number(value: Any) -> str:
    """``60.0`` -> ``60``, ``0.5`` -> ``0.5``."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise RuntimeError(f"_constants.py: expected a number, found {value!r}")
    return str(int(value)) if float(value).is_integer() else str(value)
