"""Broken specs: exit 2, every problem reported as in the snapshot, nothing written.

Each ``bad_specs/NAME.yaml`` is a trimmed copy of spec/openapi.yaml with one kind
of breakage (its first line says which); ``NAME.expected`` is the stderr it must
produce, with the spec path written as ``<spec>`` and the ``--out`` folder as
``<out>``. Run with ``UPDATE_SNAPSHOTS=1`` to rewrite the snapshots, then review
the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BAD_SPECS = Path(__file__).resolve().parent / "bad_specs"
SPECS = sorted(BAD_SPECS.glob("*.yaml"))
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
SENTINEL = "sentinel.txt"


@pytest.mark.parametrize("spec", SPECS, ids=[spec.stem for spec in SPECS])
def test_bad_spec_is_reported_and_nothing_is_written(spec, tmp_path, run_codegen):
    out = tmp_path / "out"
    out.mkdir()
    (out / SENTINEL).write_text("left alone\n", encoding="utf-8")

    result = run_codegen("--spec", spec, "--out", out)

    assert result.returncode == 2, result.stdout + result.stderr
    stderr = result.stderr.replace(str(spec), "<spec>").replace(str(out), "<out>")
    snapshot = spec.with_suffix(".expected")
    if UPDATE:
        snapshot.write_text(stderr, encoding="utf-8", newline="\n")
    assert snapshot.exists(), f"no snapshot; run with UPDATE_SNAPSHOTS=1 to write {snapshot}"
    assert stderr == snapshot.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "something was left beside --out"
    assert [p.name for p in out.iterdir()] == [SENTINEL]
    assert (out / SENTINEL).read_text(encoding="utf-8") == "left alone\n"


def test_every_snapshot_has_its_spec():
    orphans = [p.name for p in BAD_SPECS.glob("*.expected") if not p.with_suffix(".yaml").exists()]
    assert not orphans
