"""Named CLI contexts: the file (shape, permissions, atomic writes) and `nf-build context`.

The module is loaded straight from runtime/python, since the generated package may not
carry it yet.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from northflank_build import _cli_contexts as cli_contexts

POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
TOKEN = "nfp_0123456789abcdefghijklmnopqrstuvwxyz"
OTHER_TOKEN = "nfp_zyxwvutsrqponmlkjihgfedcba9876543210"


m = cli_contexts


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "nf-build" / "config.json"


def _invoke(config: Path, *args: str, stdin: str | None = None) -> Result:
    group: click.Group = m.context_commands()
    command, *rest = args
    return CliRunner().invoke(group, [command, "--config", str(config), *rest], input=stdin)


def _ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def _fails(result: Result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ")
    for fragment in fragments:
        assert fragment in result.stderr
    return result.stderr


def _write(path: Path, content: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    path.chmod(mode)


def _sample() -> Any:
    return m.Contexts(
        "prod",
        {
            "dev": m.Context("dev", TOKEN, "http://localhost:8080", "p-dev"),
            "prod": m.Context("prod", OTHER_TOKEN),
            "ci.build_2": m.Context("ci.build_2", project_id="p-ci"),
        },
    )


# --- Where the file is --------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.delenv(m.CONFIG_ENV, raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


def test_default_path_is_under_dot_config(home: Path) -> None:
    assert m.default_config_path() == home / ".config" / "nf-build" / "config.json"


def test_default_path_follows_an_absolute_xdg_config_home(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert m.default_config_path() == tmp_path / "xdg" / "nf-build" / "config.json"


@pytest.mark.parametrize("value", ["relative/xdg", ""])
def test_default_path_ignores_a_relative_or_empty_xdg_config_home(
    home: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", value)
    assert m.default_config_path() == home / ".config" / "nf-build" / "config.json"


def test_the_environment_variable_overrides_everything(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NF_BUILD_CONFIG", str(tmp_path / "mine.json"))
    assert m.default_config_path() == tmp_path / "mine.json"


def test_commands_find_the_file_through_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "elsewhere.json"
    monkeypatch.setenv("NF_BUILD_CONFIG", str(config))
    result = CliRunner().invoke(m.context_commands(), ["add", "dev", "--token", TOKEN])
    assert _ok(result) == "Added context dev\nSwitched to context dev\n"
    assert m.load_contexts(config).current == "dev"


# --- Reading and writing ------------------------------------------------------------


def test_a_missing_file_has_no_contexts(config: Path) -> None:
    assert m.load_contexts(config) == m.Contexts(None, {})
    assert m.resolve_context(config, None) is None


def test_round_trip_keeps_every_field_and_the_order(config: Path) -> None:
    m.save_contexts(config, _sample())
    loaded = m.load_contexts(config)
    assert loaded == _sample()
    assert list(loaded.contexts) == ["dev", "prod", "ci.build_2"]
    assert json.loads(config.read_text(encoding="utf-8")) == {
        "version": 1,
        "current": "prod",
        "contexts": {
            "dev": {"token": TOKEN, "baseUrl": "http://localhost:8080", "projectId": "p-dev"},
            "prod": {"token": OTHER_TOKEN},
            "ci.build_2": {"projectId": "p-ci"},
        },
    }


def test_a_write_leaves_no_temporary_file(config: Path) -> None:
    m.save_contexts(config, _sample())
    m.save_contexts(config, m.Contexts(None, {}))
    assert [p.name for p in config.parent.iterdir()] == ["config.json"]


def test_a_failed_write_keeps_the_old_file_and_no_temporary_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m.save_contexts(config, _sample())
    before = config.read_bytes()

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(m.os, "replace", fail)
    with pytest.raises(m.ContextError, match=r"cannot write .*No space left"):
        m.save_contexts(config, m.Contexts(None, {}))
    assert config.read_bytes() == before
    assert [p.name for p in config.parent.iterdir()] == ["config.json"]


@POSIX_ONLY
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_the_file_is_0600_and_a_new_directory_0700_whatever_the_umask(
    config: Path, umask: int
) -> None:
    old = os.umask(umask)
    try:
        m.save_contexts(config, _sample())
    finally:
        os.umask(old)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert m.load_contexts(config) == _sample()


@POSIX_ONLY
def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    m.save_contexts(tmp_path / "config.json", _sample())
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


@POSIX_ONLY
def test_writing_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "nf-build.json"
    m.save_contexts(target, m.Contexts(None, {}))
    link = tmp_path / "config.json"
    link.symlink_to(target)
    m.save_contexts(link, _sample())
    assert link.is_symlink()
    assert m.load_contexts(target) == _sample()


@POSIX_ONLY
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_file_others_may_access_is_refused(config: Path, mode: int) -> None:
    m.save_contexts(config, _sample())
    config.chmod(mode)
    expected = f"{config} is readable by others (mode {mode:04o}); run chmod 600 {config}"
    with pytest.raises(m.ContextError) as caught:
        m.load_contexts(config)
    assert caught.value.message == expected
    assert caught.value.exit_code == 2
    _fails(_invoke(config, "list"), expected)
    _fails(_invoke(config, "add", "new", "--token", TOKEN), expected)
    assert stat.S_IMODE(config.stat().st_mode) == mode  # not silently "fixed" by a write


BAD_FILES = [
    pytest.param("{", "is not valid JSON: expecting a key in double quotes", id="truncated"),
    pytest.param(
        '{"version": 1,\n  "current": nope}', "at $.current (line 2, column 14)", id="bad-value"
    ),
    pytest.param("", "is not valid JSON: the document is empty", id="empty"),
    pytest.param("[]", "$: expected an object, got an array", id="array"),
    pytest.param('{"version": 1, "colour": "red"}', "$.colour: unknown key", id="unknown-top"),
    pytest.param(
        '{"version": 1, "contexts": {"dev": {"token": "t", "project": "p"}}}',
        "$.contexts.dev.project: unknown key (expected one of token, baseUrl, projectId)",
        id="unknown-field",
    ),
    pytest.param(
        '{"version": 1, "contexts": {"my-ctx": {"token": 5}}}',
        '$.contexts["my-ctx"].token: expected a string or null, got a number',
        id="wrong-type",
    ),
    pytest.param(
        '{"version": 1, "contexts": {"dev": "t"}}',
        "$.contexts.dev: expected an object, got a string",
        id="context-not-object",
    ),
    pytest.param(
        '{"version": 1, "contexts": {"dev": {"baseUrl": "api.example.com"}}}',
        "$.contexts.dev.baseUrl: base URL 'api.example.com' must start with http",
        id="bad-url",
    ),
    pytest.param(
        '{"version": 1, "contexts": {"bad name": {}}}',
        "$.contexts[\"bad name\"]: invalid context name 'bad name'",
        id="bad-name",
    ),
    pytest.param(
        '{"version": 1, "current": "gone", "contexts": {}}',
        "$.current: no context named 'gone' in $.contexts",
        id="dangling-current",
    ),
    pytest.param('{"version": 1, "current": true}', "$.current: expected a string", id="current"),
    pytest.param('{"contexts": {}}', "$.version: missing (expected 1)", id="no-version"),
    pytest.param('{"version": 2}', "$.version: unsupported version 2", id="future-version"),
    pytest.param('{"version": true}', "$.version: expected the integer 1", id="bool-version"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_a_bad_file_is_refused_and_not_overwritten(
    config: Path, content: str, message: str
) -> None:
    _write(config, content)
    with pytest.raises(m.ContextError) as caught:
        m.load_contexts(config)
    assert str(config) in caught.value.message
    assert message in caught.value.message
    _fails(_invoke(config, "add", "new", "--token", TOKEN, "--use"), str(config), message)
    _fails(_invoke(config, "remove", "dev"), message)
    assert config.read_text(encoding="utf-8") == content


def test_a_file_that_is_not_utf8_is_refused(config: Path) -> None:
    config.parent.mkdir()
    config.write_bytes(b'{"version": 1, "current": "\xff"}')
    config.chmod(0o600)
    with pytest.raises(m.ContextError, match="is not UTF-8"):
        m.load_contexts(config)


def test_saving_what_could_not_be_read_back_is_refused(config: Path) -> None:
    with pytest.raises(
        m.ContextError, match=r"refusing to write .*: \$\.current: no context named 'x'"
    ):
        m.save_contexts(config, m.Contexts("x", {}))
    with pytest.raises(m.ContextError, match="context 'a' is filed as 'b'"):
        m.save_contexts(config, m.Contexts(None, {"b": m.Context("a")}))
    assert not config.exists()


# --- Names and values ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["-dev", "", "a" * 65, "my ctx", "dév", "a/b", "dev\n"])
def test_an_invalid_name_is_refused(config: Path, name: str) -> None:
    result = _invoke(config, "add", "--token", TOKEN, "--", name)
    _fails(result, f"invalid context name {name!r}")
    assert not config.exists()


@pytest.mark.parametrize("name", ["a", "a" * 64, "dev.eu-west_1", "_x", ".x", "0"])
def test_a_valid_name_is_accepted(config: Path, name: str) -> None:
    _ok(_invoke(config, "add", name))
    assert list(m.load_contexts(config).contexts) == [name]


@pytest.mark.parametrize("url", ["api.northflank.com", "ftp://host", "https://", "http:/x"])
def test_a_base_url_without_http_or_https_is_refused(config: Path, url: str) -> None:
    _fails(_invoke(config, "add", "dev", "--base-url", url), repr(url))
    assert not config.exists()


# --- nf-build context add / use / remove ----------------------------------------------


def test_the_first_context_becomes_current_and_later_ones_do_not(config: Path) -> None:
    out = _ok(_invoke(config, "add", "dev", "--token", TOKEN, "--base-url", "https://x.test"))
    assert out == "Added context dev\nSwitched to context dev\n"
    assert _ok(_invoke(config, "add", "prod", "--token", OTHER_TOKEN)) == "Added context prod\n"
    contexts = m.load_contexts(config)
    assert contexts.current == "dev"
    assert contexts.contexts["dev"] == m.Context("dev", TOKEN, "https://x.test", None)


def test_add_with_use_makes_it_current(config: Path) -> None:
    _ok(_invoke(config, "add", "dev"))
    out = _ok(_invoke(config, "add", "prod", "--use", "--project-id", "p1"))
    assert out == "Added context prod\nSwitched to context prod\n"
    assert m.load_contexts(config).current == "prod"


def test_adding_an_existing_name_replaces_it(config: Path) -> None:
    _ok(_invoke(config, "add", "dev", "--token", TOKEN, "--project-id", "old"))
    _ok(_invoke(config, "add", "prod"))
    assert _ok(_invoke(config, "add", "dev", "--project-id", "new")) == "Updated context dev\n"
    contexts = m.load_contexts(config)
    assert contexts.contexts["dev"] == m.Context("dev", project_id="new")
    assert list(contexts.contexts) == ["dev", "prod"]
    assert contexts.current == "dev"


def test_the_token_can_come_from_stdin(config: Path) -> None:
    _ok(_invoke(config, "add", "dev", "--token", "-", stdin=f"  {TOKEN}  \nsecond line\n"))
    assert m.load_contexts(config).contexts["dev"].token == TOKEN


def test_an_empty_stdin_is_refused(config: Path) -> None:
    _fails(_invoke(config, "add", "dev", "--token", "-", stdin=""), "no token")
    _fails(_invoke(config, "add", "dev", "--token", "-", stdin="\n"), "no token")
    assert not config.exists()


def test_without_a_token_and_a_terminal_none_is_stored(config: Path) -> None:
    _ok(_invoke(config, "add", "dev", stdin=f"{TOKEN}\n"))
    assert m.load_contexts(config).contexts["dev"].token is None


def test_empty_values_are_refused(config: Path) -> None:
    _fails(_invoke(config, "add", "dev", "--token", ""), "--token is empty")
    _fails(_invoke(config, "add", "dev", "--project-id", ""), "--project-id is empty")
    assert not config.exists()


def test_use_switches_the_current_context(config: Path) -> None:
    _ok(_invoke(config, "add", "dev"))
    _ok(_invoke(config, "add", "prod"))
    assert _ok(_invoke(config, "use", "prod")) == "Switched to context prod\n"
    assert m.load_contexts(config).current == "prod"


def test_use_of_an_unknown_name_lists_the_known_ones(config: Path) -> None:
    _fails(_invoke(config, "use", "dev"), f"no context named 'dev' in {config}", "it has none")
    _ok(_invoke(config, "add", "dev"))
    _ok(_invoke(config, "add", "prod"))
    before = config.read_bytes()
    _fails(_invoke(config, "use", "stage"), "no context named 'stage'", "known: dev, prod")
    assert config.read_bytes() == before


def test_removing_the_current_context_leaves_none_current(config: Path) -> None:
    _ok(_invoke(config, "add", "dev"))
    _ok(_invoke(config, "add", "prod"))
    out = _ok(_invoke(config, "remove", "dev"))
    assert out.startswith("Removed context dev\n")
    assert "no context is current now" in out
    assert m.load_contexts(config) == m.Contexts(None, {"prod": m.Context("prod")})
    assert m.resolve_context(config, None) is None


def test_removing_another_context_keeps_the_current_one(config: Path) -> None:
    _ok(_invoke(config, "add", "dev"))
    _ok(_invoke(config, "add", "prod"))
    assert _ok(_invoke(config, "remove", "prod")) == "Removed context prod\n"
    assert m.load_contexts(config).current == "dev"
    _fails(_invoke(config, "remove", "prod"), "no context named 'prod'", "known: dev")


# --- nf-build context list ------------------------------------------------------------


def test_list_shows_a_table_with_redacted_tokens(config: Path) -> None:
    m.save_contexts(config, _sample())
    out = _ok(_invoke(config, "list"))
    assert TOKEN not in out
    assert OTHER_TOKEN not in out
    assert out.splitlines() == [
        "CURRENT  NAME        BASE URL               PROJECT  TOKEN",
        "         dev         http://localhost:8080  p-dev    nfp_0…wxyz",
        "*        prod        (default)              (none)   nfp_z…3210",
        "         ci.build_2  (default)              p-ci     (none)",
    ]


def test_list_as_json_redacts_the_same_way(config: Path) -> None:
    m.save_contexts(config, _sample())
    out = _ok(_invoke(config, "list", "-o", "json"))
    assert TOKEN not in out
    assert OTHER_TOKEN not in out
    assert json.loads(out) == {
        "current": "prod",
        "contexts": [
            {
                "name": "dev",
                "current": False,
                "baseUrl": "http://localhost:8080",
                "projectId": "p-dev",
                "token": "nfp_0…wxyz",
            },
            {
                "name": "prod",
                "current": True,
                "baseUrl": None,
                "projectId": None,
                "token": "nfp_z…3210",
            },
            {
                "name": "ci.build_2",
                "current": False,
                "baseUrl": None,
                "projectId": "p-ci",
                "token": None,
            },
        ],
    }


def test_a_short_token_is_redacted_whole(config: Path) -> None:
    _ok(_invoke(config, "add", "dev", "--token", "short-secret-123"))
    out = _ok(_invoke(config, "list"))
    assert "short" not in out
    assert "123" not in out
    assert out.splitlines()[1].endswith("  …")


def test_list_without_contexts_says_how_to_add_one(config: Path) -> None:
    expected = "No contexts. Add one with: nf-build context add NAME --token TOKEN\n"
    assert _ok(_invoke(config, "list")) == expected
    assert json.loads(_ok(_invoke(config, "list", "-o", "json"))) == {
        "current": None,
        "contexts": [],
    }
    assert not config.exists()


# --- resolve_context and the group ----------------------------------------------------


def test_resolve_context_by_name_or_current(config: Path) -> None:
    m.save_contexts(config, _sample())
    assert m.resolve_context(config, "dev") == _sample().contexts["dev"]
    assert m.resolve_context(config, None) == m.Context("prod", OTHER_TOKEN)
    with pytest.raises(m.ContextError, match=r"no context named 'stage'.*known: dev, prod"):
        m.resolve_context(config, "stage")


def test_the_group_has_four_commands_with_a_hidden_config_option() -> None:
    group = m.context_commands()
    assert group.name == "context"
    assert sorted(group.commands) == ["add", "list", "remove", "use"]
    for command in group.commands.values():
        (option,) = (p for p in command.params if p.name == "config_path")
        assert isinstance(option, click.Option)
        assert option.hidden
        assert option.envvar == "NF_BUILD_CONFIG"
    assert "--config" not in CliRunner().invoke(group, ["add", "--help"]).stdout
