"""The TypeScript package: types, validators and the client, with the official client's call shape.

``client.create.service.build({ parameters: { projectId }, data })`` resolves to
``{ data, error, request, rawResponse }`` as ``@northflank/js-client`` does.
The schemas are compiled by `typescript_schema`; the hand-written runtime under
``runtime/typescript/`` (requests, retries, errors; the validators' helpers)
is copied in beside the generated files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..ir import Api, Operation, Resource
from ..names import ClassName
from ..templating import render_template
from . import RenderedFile
from .typescript_schema import TsCheck, declarations, validators

__all__ = ["TS_RUNTIME_DIR", "TsOperation", "render_typescript", "typescript_runtime_files"]

TS_RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime" / "typescript"
ROOT = PurePosixPath("typescript")
TYPESCRIPT_VERSION = "7.0.2"
"""The compiler the package is built with; tools/node pins the same one."""


@dataclass(frozen=True)
class TsOperation:
    """One operation as the TypeScript client names it."""

    operation: Operation
    stem: str
    """``CreateServiceBuild``: the official client's prefix for the call's types."""
    constant: str
    """``CREATE_BUILD_SERVICE``: the endpoint's description."""
    result_key: str
    """The envelope property holding the result, as a TypeScript literal (or ``undefined``)."""


@dataclass(frozen=True)
class TsResource:
    """One level of ``client.create.service``: a class with its children and calls."""

    class_name: str
    path: tuple[str, ...]
    children: tuple[tuple[str, str], ...]
    """(attribute, class name) of each level below."""
    calls: tuple[tuple[str, TsOperation], ...]
    """(method, operation) of each call at this level."""


def typescript_runtime_files() -> list[Path]:
    """The hand-written TypeScript modules copied into ``src/``."""
    return sorted(TS_RUNTIME_DIR.glob("*.ts"))


def render_typescript(api: Api) -> list[RenderedFile]:
    schemas = json.loads(api.schemas_json)
    constants, checks = validators(schemas)
    operations = tuple(
        TsOperation(
            op,
            ClassName(" ".join(op.command_path)),
            op.endpoint_constant,
            json.dumps(op.result_attribute) if op.result_attribute else "undefined",
        )
        for op in api.operations
    )
    resources = _resources(api.resources, operations)
    context = {
        "api": api,
        "operations": operations,
        "resources": resources,
        "top_level": tuple(r for r in resources if len(r.path) == 1),
        "helpers": _helpers_used(checks),
        "declarations": declarations(schemas),
        "constants": constants,
        "checks": checks,
        "typescript_version": TYPESCRIPT_VERSION,
        "user_agent": f"northflank-build-typescript/{api.package.version}",
    }
    templated = {
        "package.json": "package.json.jinja",
        "tsconfig.json": "tsconfig.json.jinja",
        "tsconfig.cjs.json": "tsconfig.cjs.json.jinja",
        "README.md": "README.md.jinja",
        "src/index.ts": "index.ts.jinja",
        "src/types.ts": "types.ts.jinja",
        "src/validate.ts": "validate.ts.jinja",
        "src/client.ts": "client.ts.jinja",
    }
    files = [
        RenderedFile(ROOT / path, render_template(f"typescript/{template}", **context))
        for path, template in templated.items()
    ]
    files += [
        RenderedFile(ROOT / "src" / path.name, path.read_text(encoding="utf-8"))
        for path in typescript_runtime_files()
    ]
    return files


def _resources(
    resources: tuple[Resource, ...], operations: tuple[TsOperation, ...]
) -> tuple[TsResource, ...]:
    """The levels below the root, deepest first, so each class is declared before its use."""
    by_id = {item.operation.operation_id: item for item in operations}
    levels = sorted((r for r in resources if r.path), key=lambda r: (-len(r.path), r.path))
    return tuple(
        TsResource(
            class_name=f"{level.class_stem}Resource",
            path=level.path,
            children=tuple((str(attr), f"{stem}Resource") for attr, stem in level.children),
            calls=tuple((op.command_path[-1], by_id[op.operation_id]) for op in level.operations),
        )
        for level in levels
    )


VALIDATION_HELPERS = ("codePoints", "exactlyOne", "hasOwn", "isObject", "pathStep")


def _helpers_used(checks: tuple[TsCheck, ...]) -> tuple[str, ...]:
    """The helpers of ``validation.ts`` that the compiled checks call."""
    text = "\n".join(line for check in checks for line in (*check.test_lines, *check.check_lines))
    return tuple(name for name in VALIDATION_HELPERS if f"{name}(" in text)
