"""The generator's output depends on its inputs only: not on hash seeds, time or place."""

from __future__ import annotations

import datetime
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HASH_SEEDS = ("0", "1", "4242")
# A date or a clock time, as a timestamp would print them ("2020-12" alone is fine).
TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}:\d{2}\b")


@pytest.fixture(scope="module")
def trees(tmp_path_factory, run_codegen) -> dict[str, Path]:
    """One generated tree per hash seed; the three runs go in parallel."""
    base = tmp_path_factory.mktemp("determinism")
    outs = {seed: base / f"seed-{seed}" / "generated" for seed in HASH_SEEDS}

    def generate(seed: str):
        return run_codegen("--out", outs[seed], env={"PYTHONHASHSEED": seed})

    with ThreadPoolExecutor(len(HASH_SEEDS)) as pool:
        for result in pool.map(generate, HASH_SEEDS):
            assert result.returncode == 0, result.stderr
    return outs


def test_output_is_the_same_under_every_hash_seed(trees, assert_same_tree):
    first, *others = trees.values()
    for other in others:
        assert_same_tree(first, other)


def test_output_has_no_timestamp_or_absolute_path(trees, read_tree, tmp_path_factory):
    year = datetime.datetime.now(tz=datetime.UTC).year
    forbidden = {
        *(str(out) for out in trees.values()),
        str(tmp_path_factory.getbasetemp()),
        str(ROOT),
        sys.prefix,
        str(Path.home()),
        "/work/",
        "/home/",
        "/tmp/",
        "/Users/",
        f"{year}-",
    } - {"", "/"}
    leaks = []
    for seed, out in trees.items():
        for name, content in read_tree(out).items():
            text = content.decode("utf-8")
            found = [word for word in sorted(forbidden) if word in text]
            found += TIMESTAMP.findall(text)
            leaks += [f"seed {seed}, {name}: {word!r}" for word in found]
    assert not leaks, "\n".join(leaks)
