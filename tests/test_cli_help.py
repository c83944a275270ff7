"""Every flag of every ``nf-build`` command says what it is for.

The command tree is walked on the real generated CLI (``build_cli`` over the
generated ``COMMANDS``, as the console script builds it), and each command's
``--help`` is rendered by click's own runner at 80 columns. Every entry of its
Options list must carry text: the spec's description where it has one, else the
constraint summary the generator writes in its place (what the flag sets and
takes, its constraints, default and example). One page is pinned by snapshot
in test_cli_snapshots.py (``patch-service-build-help.txt``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import click
import pytest
from click.testing import CliRunner
from northflank_build import __version__
from northflank_build._cli import COMMANDS
from northflank_build._cli_base import build_cli

from codegen.body_fields import BodyField
from codegen.render.python_cli import body_field_help

PROG = "nf-build"
ENTRY = re.compile(r"^  (-\S.*)$")
"""The first line of an option's entry: two spaces, then its flags."""
GAP = re.compile(r"\S {2,}\S")
"""Between an entry's flags and its text on the same line: two spaces or more."""


def _root() -> click.Group:
    return build_cli(COMMANDS, prog=PROG, version=__version__)


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group under ``group``, by its words, the group included."""
    yield path, group
    context = click.Context(group, info_name=PROG)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, (path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMAND_PATHS = [path for path, _ in _commands(_root())]


def options_without_text(help_page: str) -> list[str]:
    """The flags of each entry of the Options list that has no text beside or below it."""
    lines = help_page.splitlines()
    start = lines.index("Options:") + 1
    bare = []
    for index in range(start, len(lines)):
        entry = ENTRY.match(lines[index])
        if entry is None:
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        has_text_beside = GAP.search(entry[1]) is not None
        has_text_below = following.startswith("    ") and following.strip() != ""
        if not (has_text_beside or has_text_below):
            bare.append(entry[1].strip())
    return bare


def test_the_tree_has_every_operation() -> None:
    paths = set(COMMAND_PATHS)
    for command in COMMANDS:
        assert command.path in paths, command.path


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda path: " ".join(path) or "nf-build")
def test_every_option_has_help_text(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(
        _root(), [*path, "--help"], prog_name=PROG, terminal_width=80, env={"NO_COLOR": "1"}
    )
    assert result.exit_code == 0, result.output
    assert "Options:" in result.output
    assert options_without_text(result.output) == []


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda path: " ".join(path) or "nf-build")
def test_every_option_object_has_help(path: tuple[str, ...]) -> None:
    """The same, asked of click itself: each option's help record has text."""
    command = dict(_commands(_root()))[path]
    context = click.Context(command, info_name=PROG)
    for parameter in command.get_params(context):
        record = parameter.get_help_record(context)
        if isinstance(parameter, click.Option) and record is not None:
            assert record[1].strip(), (path, record[0])


def _help_of(flag_part: str) -> str:
    (found,) = {
        field.help
        for command in COMMANDS
        for field in command.body_fields
        if field.flag is not None and flag_part in field.flag and command.path[0] == "create"
    }
    return found


def test_a_flag_without_a_description_gets_its_constraint_summary() -> None:
    assert _help_of("internal-cache-storage") == "internalCacheStorage: a number."
    assert _help_of("gpu-type") == "gpuType: a string. Required in billing.gpu.configuration."
    assert _help_of("architecture") == "architecture: one of x86, arm."
    assert _help_of("dockerfile-docker-file-path").startswith("The file path of the Dockerfile.")


def test_the_detector_finds_a_bare_option() -> None:
    page = (
        "Usage: x\n\nOptions:\n  --bare TEXT\n  --fine TEXT  Has text.\n"
        "  --wrapped / --no-wrapped\n                  Below.\n"
    )
    assert options_without_text(page) == ["--bare TEXT"]


def _field(**changes: Any) -> BodyField:
    plain = BodyField(
        path=("buildkit", "internalCacheStorage"),
        kind="number",
        item_kind=None,
        required=False,
        variants=(),
        variant_titles=(),
        variant_keys=(),
        flag="--buildkit-internal-cache-storage",
        short_flag=None,
        description="",
        notes="",
        choices=(),
        example_json=None,
        deprecated=False,
    )
    return replace(plain, **changes)


def test_the_summary_has_the_default_and_the_example() -> None:
    schema = {"type": "number", "minimum": 0, "default": 1024, "example": 2048}
    assert body_field_help(_field(notes="Must be >= 0."), schema) == (
        "internalCacheStorage: a number. Must be >= 0. Default: 1024. Example: 2048."
    )
    assert body_field_help(_field(example_json="4096"), schema).endswith("Example: 4096.")


def test_the_summary_of_a_list_and_a_map() -> None:
    assert body_field_help(_field(kind="list", item_kind="string"), {}) == (
        "internalCacheStorage: a list, each item a string."
    )
    assert body_field_help(_field(kind="map", item_kind="integer"), {}) == (
        "internalCacheStorage: a map, each value an integer."
    )
    items = {"type": "array", "items": {"type": "string", "default": "x"}}
    assert 'Default: "x".' in body_field_help(_field(kind="list", item_kind="string"), items)


def test_a_description_wins_over_the_summary() -> None:
    described = _field(description="Cache size in MB.", notes="Must be >= 0.")
    assert body_field_help(described, {"default": 1}) == "Cache size in MB. Must be >= 0."
