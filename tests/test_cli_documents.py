"""Request bodies for ``nf-build``: JSON and YAML in, strictly, and YAML out.

The module is loaded from ``runtime/python`` by its path, as it is not in the generated
package until the generator next runs.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from northflank_build import _cli_documents as cli_documents

docs = cli_documents
DocumentError = docs.DocumentError


def parse(text: str, fmt: str, source: str = "body.yaml") -> dict[str, Any]:
    result: dict[str, Any] = docs.parse_document(text, source=source, fmt=fmt)
    return result


def refusal(text: str, fmt: str, source: str = "body.yaml") -> str:
    with pytest.raises(DocumentError) as caught:
        docs.parse_document(text, source=source, fmt=fmt)
    assert caught.value.source == source
    return str(caught.value)


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types (``1`` is not ``1.0`` nor ``True``), key order and zero signs."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


# --- The interface ----------------------------------------------------------------------------


def test_public_names() -> None:
    assert sorted(docs.__all__) == [
        "DocumentError",
        "MAX_DOCUMENT_BYTES",
        "dump_yaml",
        "format_for",
        "parse_document",
        "parse_json",
        "read_file",
    ]


def test_importing_loads_neither_yaml_nor_the_heavy_modules() -> None:
    code = (
        "import sys\n"
        "import northflank_build._cli_documents\n"
        "roots = ('yaml', 'pydantic', 'httpx')\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in roots))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# --- format_for -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("body.json", "json"),
        ("BODY.JSON", "json"),
        ("dir/body.Json", "json"),
        ("body.yaml", "yaml"),
        ("body.yml", "yaml"),
        ("body.YML", "yaml"),
        ("body.YaMl", "yaml"),
        ("body.txt", "auto"),
        ("body", "auto"),
        ("body.json.txt", "auto"),
        (".json", "auto"),
        ("-", "auto"),
    ],
)
def test_format_for(path: str, fmt: str) -> None:
    assert docs.format_for(path) == fmt


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        (' \t\r\n{"a": 1} \n', {"a": 1}),
        ("{}", {}),
        ('{"big": 123456789012345678901234567890}', {"big": 123456789012345678901234567890}),
        ('{"neg": -123456789012345678901234567890}', {"neg": -123456789012345678901234567890}),
        ('{"f": 1.0, "e": 1e3, "z": -0.0}', {"f": 1.0, "e": 1000.0, "z": -0.0}),
        (
            '{"s": "yes", "n": null, "t": true, "x": false}',
            {"s": "yes", "n": None, "t": True, "x": False},
        ),
        ('{"u": "\\u00e9\\ud83d\\ude00", "raw": "é😀"}', {"u": "é😀", "raw": "é😀"}),
        ('{"a": {"b": [1, {"c": []}]}}', {"a": {"b": [1, {"c": []}]}}),
        ('{"b": 1, "a": 2}', {"b": 1, "a": 2}),
    ],
)
def test_json_accepted(text: str, expected: dict[str, Any]) -> None:
    result = parse(text, "json")
    assert same(result, expected)
    assert list(result) == list(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"billing": {\n  "buildPlan": "a",\n  "buildPlan": "b"\n}}',
            'duplicate key "buildPlan" at $.billing.buildPlan (line 3, column 3)',
        ),
        ('{"a": 1, "a": 1}', 'duplicate key "a" at $.a (line 1, column 10)'),
        ('{"a": 1, "\\u0061": 2}', 'duplicate key "a" at $.a (line 1, column 10)'),
        ('{"l": [{}, {"x": 1, "x": 2}]}', 'duplicate key "x" at $.l[1].x (line 1, column 21)'),
        ('{"a b": {"k": 1, "k": 2}}', 'duplicate key "k" at $["a b"].k (line 1, column 18)'),
        ('{"a": NaN}', "NaN is not a JSON number at $.a (line 1, column 7)"),
        ('{"a": Infinity}', "Infinity is not a JSON number at $.a (line 1, column 7)"),
        ('{"a": [-Infinity]}', "-Infinity is not a JSON number at $.a[0] (line 1, column 8)"),
        ('{"a": 1e400}', "the number 1e400 is too large at $.a (line 1, column 7)"),
        ('{"a": 1,}', "a trailing comma before '}' at $ (line 1, column 9)"),
        ('{"a": [1,]}', "a trailing comma before ']' at $.a (line 1, column 10)"),
        ('{"a" 1}', "expecting ':' after the key, found '1' at $.a (line 1, column 6)"),
        ('{"a": 1 "b": 2}', "expecting ',' or '}', found '\"' at $ (line 1, column 9)"),
        ('{"a": [1 2]}', "expecting ',' or ']', found '2' at $.a (line 1, column 10)"),
        ("{a: 1}", "expecting a key in double quotes, found 'a' at $ (line 1, column 2)"),
        ("{'a': 1}", 'expecting a key in double quotes, found "\'" at $ (line 1, column 2)'),
        ('{"a": tru}', "expecting a value, found 't' at $.a (line 1, column 7)"),
        ('{"a": 01}', "expecting ',' or '}', found '1' at $ (line 1, column 8)"),
        ('{"a": .5}', "expecting a value, found '.' at $.a (line 1, column 7)"),
        ('{"a":\n', "expecting a value, found the end of the document at $.a (line 2, column 1)"),
        ('{"a": "x\ny"}', "invalid control character '\\n' in a string at $.a (line 1, column 9)"),
        ('{"a": "\\q"}', "invalid escape '\\\\q' in a string at $.a (line 1, column 8)"),
        ('{"a": "\\u12"}', "invalid \\uXXXX escape at $.a (line 1, column 9)"),
        ('{\n  "a": "abc', "unterminated string at $.a (line 2, column 8)"),
        ('{"a": 1} {"b": 2}', "expecting the end of the document, found '{' (line 1, column 10)"),
        ("", "the document is empty"),
        (" \n\t", "the document is empty"),
        ("\ufeff{}", "expecting a value, found '\\ufeff' at $ (line 1, column 1)"),
        ('{"a": 1' + "0" * 5000 + "}", "the integer has too many digits at $.a (line 1, column 7)"),
        ("[" * 100_000 + "]" * 100_000, "the document is nested too deeply"),
    ],
)
def test_json_refused(text: str, message: str) -> None:
    assert refusal(text, "json", source="body.json") == f"body.json: {message}"


# --- YAML: the core schema's scalars ----------------------------------------------------------


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        # Booleans: only these six.
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("n", "n"),
        ("Yes", "Yes"),
        ("tRUE", "tRUE"),
        # Null.
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("~", None),
        ("", None),
        ("nULL", "nULL"),
        ("none", "none"),
        # Integers: decimal with a sign, 0o octal, 0x hex.
        ("0", 0),
        ("12", 12),
        ("-12", -12),
        ("+12", 12),
        ("012", 12),
        ("-0", 0),
        ("0o17", 15),
        ("0x1F", 31),
        ("0xff", 255),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        ("0b1", "0b1"),
        ("1_000", "1_000"),
        ("0O17", "0O17"),
        ("0X1F", "0X1F"),
        ("-0x1F", "-0x1F"),
        ("0o8", "0o8"),
        ("1:20", "1:20"),
        # Floats.
        ("1.5", 1.5),
        ("-1.5", -1.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("+.5", 0.5),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("1.0e+16", 1e16),
        ("-0.0", -0.0),
        ("1_000.5", "1_000.5"),
        (".", "."),
        ("1e", "1e"),
        ("e3", "e3"),
        (".Inf.", ".Inf."),
        ("+.nan", "+.nan"),
        # Everything else is a string.
        ("2021-11-29", "2021-11-29"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("=", "="),
        ("<<", "<<"),
        ("hello world", "hello world"),
        ("é", "é"),
        # Quoted scalars are always strings; `!` makes a plain one a string.
        ('"true"', "true"),
        ("'12'", "12"),
        ('""', ""),
        ("'~'", "~"),
        ("! 12", "12"),
        ("! true", "true"),
        # The core tags.
        ("!!str 12", "12"),
        ("!!str", ""),
        ("!!int '012'", 12),
        ("!!int 0x1F", 31),
        ("!!float 1", 1.0),
        ("!!float '1e3'", 1000.0),
        ("!!bool 'true'", True),
        ("!!null ''", None),
        ("!!null ~", None),
        ("!<tag:yaml.org,2002:int> 7", 7),
    ],
)
def test_yaml_scalars(scalar: str, value: Any) -> None:
    result = parse(f"v: {scalar}\n", "yaml")
    assert same(result, {"v": value})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: [x, y]\nc: {d: e}\n", {"a": 1, "b": ["x", "y"], "c": {"d": "e"}}),
        ("z: 1\na: 2\n", {"z": 1, "a": 2}),
        ("{}", {}),
        ("{a: 1}", {"a": 1}),
        ("---\na: 1\n...\n", {"a": 1}),
        ("# a comment\na: 1 # another\n", {"a": 1}),
        ("\ufeffa: 1\n", {"a": 1}),
        ("a: |\n  line 1\n  line 2\n", {"a": "line 1\nline 2\n"}),
        ("a: >-\n  folded\n  text\n", {"a": "folded text"}),
        ("a: 'it''s'\n", {"a": "it's"}),
        ('a: "tab\\there \\u00e9"\n', {"a": "tab\there é"}),
        ('"<<": 1\n', {"<<": 1}),
        ("! <<: 1\n", {"<<": 1}),
        ("!!str <<: 1\n", {"<<": 1}),
        ("'yes': 1\n'1': 2\n", {"yes": 1, "1": 2}),
        ("yes: 1\non: 2\n", {"yes": 1, "on": 2}),
        ("!!map {a: !!seq [1]}", {"a": [1]}),
        ("%YAML 1.2\n---\na: 1\n", {"a": 1}),
        ("? a\n: 1\n", {"a": 1}),
        ("a:\n- 1\n- - 2\n", {"a": [1, [2]]}),
    ],
)
def test_yaml_accepted(text: str, expected: dict[str, Any]) -> None:
    result = parse(text, "yaml")
    assert same(result, expected)


def test_yaml_aliases_are_copies() -> None:
    result = parse("base: &b {x: [1]}\ncopy: *b\nkey: &k name\n*k : 2\n", "yaml")
    assert same(result, {"base": {"x": [1]}, "copy": {"x": [1]}, "key": "name", "name": 2})
    assert result["copy"] is not result["base"]
    assert result["copy"]["x"] is not result["base"]["x"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Not JSON numbers.
        ("a: .inf\n", ".inf is not a JSON number at $.a (line 1, column 4)"),
        ("a: [1, -.Inf]\n", "-.Inf is not a JSON number at $.a[1] (line 1, column 8)"),
        ("a: .NaN\n", ".NaN is not a JSON number at $.a (line 1, column 4)"),
        ("a: !!float .nan\n", ".nan is not a JSON number at $.a (line 1, column 4)"),
        ("a: 1e400\n", "the number 1e400 is too large at $.a (line 1, column 4)"),
        ("a: 1" + "0" * 5000, "the integer has too many digits at $.a (line 1, column 4)"),
        # Duplicate keys, at any depth and however they are spelt.
        ("a: 1\na: 2\n", 'duplicate key "a" at $.a (line 2, column 1)'),
        ('a: 1\n"a": 2\n', 'duplicate key "a" at $.a (line 2, column 1)'),
        ("'1': 1\n!!str 1: 2\n", 'duplicate key "1" at $["1"] (line 2, column 1)'),
        (
            "billing:\n  buildPlan: a\n  buildPlan: b\n",
            'duplicate key "buildPlan" at $.billing.buildPlan (line 3, column 3)',
        ),
        ("l:\n- {x: 1, x: 2}\n", 'duplicate key "x" at $.l[0].x (line 2, column 10)'),
        ("k: &k a\n*k : 1\na: 2\n", 'duplicate key "a" at $.a (line 3, column 1)'),
        # Merge keys.
        (
            "base: &b {x: 1}\nd:\n  <<: *b\n",
            "merge keys (<<) are not supported at $.d (line 3, column 3)",
        ),
        ("<<: {x: 1}\n", "merge keys (<<) are not supported at $ (line 1, column 1)"),
        ("a: !!merge <<\n", "unsupported tag !!merge at $.a (line 1, column 4)"),
        ("a: !<%3C%3C> x\n", "unsupported tag << (line 1, column 4)"),
        # Keys that are not strings.
        (
            "buildArguments:\n  1: x\n",
            "key 1 at $.buildArguments is not a string (line 2, column 3)",
        ),
        ("true: x\n", "key true at $ is not a string (line 1, column 1)"),
        ("a:\n  ~: x\n", "key ~ at $.a is not a string (line 2, column 3)"),
        ("a:\n  null: x\n", "key null at $.a is not a string (line 2, column 3)"),
        ("? \n: x\n", "an empty key at $ is not a string (line 1, column 2)"),
        ("1.5: x\n", "key 1.5 at $ is not a string (line 1, column 1)"),
        (".inf: x\n", "key .inf at $ is not a string (line 1, column 1)"),
        ("!!int 7: x\n", "key 7 at $ is not a string (line 1, column 1)"),
        ("? [a]\n: x\n", "a sequence key at $ is not a string (line 1, column 3)"),
        ("? {a: b}\n: x\n", "a mapping key at $ is not a string (line 1, column 3)"),
        ("!!binary aGk=: x\n", "unsupported tag !!binary at $ (line 1, column 1)"),
        # Tags outside the core schema, and core tags on the wrong kind or value.
        ("a: !!binary aGVsbG8=\n", "unsupported tag !!binary at $.a (line 1, column 4)"),
        ("a: !!set {x, y}\n", "unsupported tag !!set at $.a (line 1, column 4)"),
        ("a: !!omap [x: 1]\n", "unsupported tag !!omap at $.a (line 1, column 4)"),
        ("a: !!pairs [x: 1]\n", "unsupported tag !!pairs at $.a (line 1, column 4)"),
        ("a: !!timestamp 2021-11-29\n", "unsupported tag !!timestamp at $.a (line 1, column 4)"),
        (
            "a: !!python/name:os.system x\n",
            "unsupported tag !!python/name:os.system at $.a (line 1, column 4)",
        ),
        ("a: !custom x\n", "unsupported tag !custom at $.a (line 1, column 4)"),
        ("a: !custom {x: 1}\n", "unsupported tag !custom at $.a (line 1, column 4)"),
        (
            "a: !<tag:example.com,2000:x> 1\n",
            "unsupported tag tag:example.com,2000:x at $.a (line 1, column 4)",
        ),
        (
            "%TAG !! tag:example.com,2000:\n---\na: !!str x\n",
            "unsupported tag tag:example.com,2000:str at $.a (line 3, column 4)",
        ),
        ("a: !!str [1]\n", "the tag !!str cannot be used on a sequence at $.a (line 1, column 4)"),
        (
            "a: !!seq {x: 1}\n",
            "the tag !!seq cannot be used on a mapping at $.a (line 1, column 4)",
        ),
        ("a: !!map x\n", "the tag !!map cannot be used on a scalar at $.a (line 1, column 4)"),
        ("a: !!int 1.5\n", "'1.5' is not a valid !!int at $.a (line 1, column 4)"),
        ("a: !!int 0b1\n", "'0b1' is not a valid !!int at $.a (line 1, column 4)"),
        ("a: !!float x\n", "'x' is not a valid !!float at $.a (line 1, column 4)"),
        ("a: !!bool yes\n", "'yes' is not a valid !!bool at $.a (line 1, column 4)"),
        ("a: !!null x\n", "'x' is not a valid !!null at $.a (line 1, column 4)"),
        # Documents: exactly one, not empty, an object.
        ("a: 1\n---\nb: 2\n", "a second document; only one is allowed (line 2, column 1)"),
        ("a: 1\n--- \n", "a second document; only one is allowed (line 2, column 1)"),
        ("---\na: 1\n...\n---\n", "a second document; only one is allowed (line 4, column 1)"),
        ("", "the document is empty"),
        ("\n\n", "the document is empty"),
        ("# nothing here\n", "the document is empty"),
        ("---\n", "the top level must be an object, not null"),
        ("~\n", "the top level must be an object, not null"),
        ("- a\n- b\n", "the top level must be an object, not a list"),
        ("just text\n", "the top level must be an object, not a string"),
        ("12\n", "the top level must be an object, not an integer"),
        ("1.5\n", "the top level must be an object, not a number"),
        ("true\n", "the top level must be an object, not a boolean"),
        # Aliases: undefined, recursive, reused anchors.
        ("a: *nope\n", "found undefined alias 'nope' (line 1, column 4)"),
        ("a: &x [1, *x]\n", "an alias to a node that contains it at $.a[1] (line 1, column 4)"),
        ("a: &x 1\nb: &x 2\n", "found duplicate anchor 'x' (line 2, column 4)"),
        # Syntax: PyYAML's problem and where, without its context dump.
        ("a: [1\n", "expected ',' or ']', but got '<stream end>' (line 2, column 1)"),
        ("a: b: c\n", "mapping values are not allowed here (line 1, column 5)"),
        ("a:\n\tb: 1\n", "found character '\\t' that cannot start any token (line 2, column 1)"),
        ("a: 'x\n", "found unexpected end of stream (line 2, column 1)"),
        ("a: 1\n b: 2\n", "mapping values are not allowed here (line 2, column 3)"),
        (
            "a: x\x00y\n",
            "unacceptable character #x0000: special characters are not allowed (line 1, column 5)",
        ),
        (
            "a: 1\nb: \x1b\n",
            "unacceptable character #x001b: special characters are not allowed (line 2, column 4)",
        ),
        ("- " * 2000 + "x", "the document is nested too deeply"),
    ],
)
def test_yaml_refused(text: str, message: str) -> None:
    assert refusal(text, "yaml") == f"body.yaml: {message}"


def test_yaml_alias_expansion_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "_MAX_ALIAS_VALUES", 50)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    message = refusal("\n".join(lines), "yaml")
    assert message.startswith("body.yaml: aliases repeat more than 50 values at $.a1[")


def test_yaml_loader_leaves_pyyaml_defaults_alone() -> None:
    before = {key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    parse("a: yes\nb: 012\n", "yaml")
    docs.dump_yaml({"a": "yes"})
    after = {key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    assert after == before
    assert yaml.safe_load("a: yes\nb: 012\n") == {"a": True, "b": 10}
    assert yaml.safe_dump({"a": "yes"}) == "a: 'yes'\n"


def test_yaml_loader_is_a_safe_loader_with_only_the_core_resolvers() -> None:
    loader = docs._yaml_loader()
    assert issubclass(loader, yaml.SafeLoader)
    assert "yaml_implicit_resolvers" in loader.__dict__
    tags = {tag for resolvers in loader.yaml_implicit_resolvers.values() for tag, _ in resolvers}
    assert tags == {
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "<<",
    }


# --- auto -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('\n  \t{"a": 1}', {"a": 1}),
        ("a: 1", {"a": 1}),
        ("# {json?}\na: yes", {"a": "yes"}),
        ("a: {b: 1}", {"a": {"b": 1}}),
    ],
)
def test_auto_accepted(text: str, expected: dict[str, Any]) -> None:
    assert same(parse(text, "auto"), expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Text that starts like JSON is JSON: YAML's flow mappings are not tried after it.
        ("{a: 1}", "expecting a key in double quotes, found 'a' at $ (line 1, column 2)"),
        ('{"a": 1, "a": 2}', 'duplicate key "a" at $.a (line 1, column 10)'),
        ('  {"a": .inf}', "expecting a value, found '.' at $.a (line 1, column 9)"),
        ("[1, 2]", "the top level must be an object, not a list"),
        # Anything else is YAML.
        ("a: 1\na: 2", 'duplicate key "a" at $.a (line 2, column 1)'),
        ("", "the document is empty"),
        ("- 1", "the top level must be an object, not a list"),
    ],
)
def test_auto_refused(text: str, message: str) -> None:
    assert refusal(text, "auto", source="--input") == f"--input: {message}"


# --- read_file --------------------------------------------------------------------------------


def test_read_file(tmp_path: Path) -> None:
    path = tmp_path / "body.yaml"
    path.write_bytes("name: é\r\nx: 1\n".encode())
    assert docs.read_file(str(path)) == ("name: é\r\nx: 1\n", str(path))


def test_read_file_drops_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": "\xef\xbb\xbf"}')
    text, source = docs.read_file(str(path))
    assert text == '{"a": "\ufeff"}'
    assert parse(text, "json", source) == {"a": "\ufeff"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a: 1\nb: \xff\n", "not valid UTF-8: byte 0xff (line 2, column 4)"),
        ("a: é\nb: é".encode() + b"\xe9", "not valid UTF-8: byte 0xe9 (line 2, column 5)"),
        (b"\xef\xbb\xbfa: \xc3", "not valid UTF-8: byte 0xc3 (line 1, column 4)"),
        ("a: 1".encode("latin-1") + b"\xe9", "not valid UTF-8: byte 0xe9 (line 1, column 5)"),
        ("a: 1\n".encode("utf-16"), "the text is UTF-16 or UTF-32; it must be UTF-8"),
        ("a: 1\n".encode("utf-32"), "the text is UTF-16 or UTF-32; it must be UTF-8"),
    ],
)
def test_read_file_refuses_what_is_not_utf8(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "body.yaml"
    path.write_bytes(data)
    with pytest.raises(DocumentError) as caught:
        docs.read_file(str(path))
    assert str(caught.value) == f"{path}: {message}"
    assert caught.value.source == str(path)


def test_read_file_missing(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.json")
    with pytest.raises(DocumentError) as caught:
        docs.read_file(path)
    assert str(caught.value) == f"{path}: no such file"
    assert caught.value.source == path


def test_read_file_directory(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as caught:
        docs.read_file(str(tmp_path))
    assert str(caught.value) == f"{tmp_path}: is a directory, not a file"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_read_file_permission_denied(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(DocumentError) as caught:
        docs.read_file(str(path))
    assert str(caught.value) == f"{path}: permission denied"


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_read_file_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b"\xef\xbb\xbfname: \xc3\xa9\n"))
    text, source = docs.read_file("-")
    assert (text, source) == ("name: é\n", "<stdin>")
    assert parse(text, docs.format_for("-"), source) == {"name": "é"}


def test_read_file_stdin_not_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b'{"a": "\xff"}'))
    with pytest.raises(DocumentError) as caught:
        docs.read_file("-")
    assert str(caught.value) == "<stdin>: not valid UTF-8: byte 0xff (line 1, column 8)"
    assert caught.value.source == "<stdin>"


def test_read_file_without_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(DocumentError) as caught:
        docs.read_file("-")
    assert str(caught.value) == "<stdin>: there is no standard input to read"


def test_a_file_named_dash_is_read_from_dot_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text("a: 1\n")
    assert docs.read_file("./-") == ("a: 1\n", "./-")


# --- dump_yaml --------------------------------------------------------------------------------


def test_dump_yaml_layout() -> None:
    value = {
        "name": "web",
        "zeta": 1,
        "alpha": [1, 1.5, True, None, "é 日本"],
        "nested": {"list": [{"a": 1, "b": []}], "empty": {}},
        "script": "set -e\nmake\n",
        "long": "word " * 40,
    }
    assert docs.dump_yaml(value) == (
        "name: web\n"
        "zeta: 1\n"
        "alpha:\n"
        "- 1\n"
        "- 1.5\n"
        "- true\n"
        "- null\n"
        "- é 日本\n"
        "nested:\n"
        "  list:\n"
        "  - a: 1\n"
        "    b: []\n"
        "  empty: {}\n"
        "script: |\n"
        "  set -e\n"
        "  make\n"
        f"long: '{'word ' * 40}'\n"
    )


QUOTED = [
    ("yes", "'yes'"),
    ("on", "'on'"),
    ("n", "'n'"),
    ("Y", "'Y'"),
    ("true", "'true'"),
    ("True", "'True'"),
    ("null", "'null'"),
    ("~", "'~'"),
    ("012", "'012'"),
    ("0x1F", "'0x1F'"),
    ("0b1", "'0b1'"),
    ("1_000", "'1_000'"),
    ("1:20", "'1:20'"),
    ("1e3", "'1e3'"),
    (".inf", "'.inf'"),
    ("2021-11-29", "'2021-11-29'"),
    ("<<", "'<<'"),
    ("=", "'='"),
    (" x", "' x'"),
    ("a: b", "'a: b'"),
    ("- x", "'- x'"),
    ("#", "'#'"),
    ("it's", "it's"),
    ("tab\there", '"tab\\there"'),
    ("plain words", "plain words"),
    ("é", "é"),
]
"""Strings as keys and values are written: quoted where a YAML 1.2 or 1.1 reader would
take them for something else."""


@pytest.mark.parametrize(("string", "written"), QUOTED)
def test_dump_yaml_quotes_what_would_read_as_something_else(string: str, written: str) -> None:
    assert docs.dump_yaml({"v": string}) == f"v: {written}\n"
    assert docs.dump_yaml({string: 1}) == f"{written}: 1\n"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ({"v": ""}, "v: ''\n"),
        ({"": 1}, "? ''\n: 1\n"),
        ({"v": "a\u2028b\x85c"}, 'v: "a\\Lb\\Nc"\n'),
        ({"v": "a\r\nb"}, 'v: "a\\r\\nb"\n'),
        ({"v": "no newline at the end\nx"}, "v: |-\n  no newline at the end\n  x\n"),
        ({"v": "  indented\nx\n"}, "v: |2\n    indented\n  x\n"),
        ({"v": "trailing space \nx"}, 'v: "trailing space \\nx"\n'),
    ],
)
def test_dump_yaml_strings_with_breaks_and_empty_strings(value: Any, written: str) -> None:
    assert docs.dump_yaml(value) == written
    assert same(parse(written, "yaml"), value)


@pytest.mark.parametrize(
    ("number", "written"),
    [(1e16, "1.0e+16"), (1e-05, "1.0e-05"), (-0.0, "-0.0"), (0.1, "0.1"), (2**70, str(2**70))],
)
def test_dump_yaml_numbers(number: float, written: str) -> None:
    assert docs.dump_yaml({"v": number}) == f"v: {written}\n"


def test_dump_yaml_repeats_shared_values() -> None:
    shared = {"x": 1}
    assert docs.dump_yaml({"a": shared, "b": shared}) == "a:\n  x: 1\nb:\n  x: 1\n"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"a": math.nan}, ValueError),
        ({"a": math.inf}, ValueError),
        ({1: "a"}, TypeError),
        ({"a": {1, 2}}, TypeError),
        ({"a": b"bytes"}, TypeError),
        ({"a": object()}, TypeError),
    ],
)
def test_dump_yaml_refuses_what_json_cannot_hold(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        docs.dump_yaml(value)


def test_dump_yaml_refuses_a_value_that_contains_itself() -> None:
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ValueError, match="contains itself"):
        docs.dump_yaml({"a": looped})


# --- Round trips ------------------------------------------------------------------------------

TRICKY_STRINGS = [
    "yes", "no", "on", "off", "y", "n", "Y", "012", "0x1F", "0o17", "0b1", "1_000", "1e3",
    "1.", ".5", ".inf", "-.inf", ".nan", "~", "null", "Null", "", " x", "x ", "a: b", "- x",
    "-", "?", ":", "#", "# x", "a #b", "2021-11-29", "2001-12-14t21:59:43.10-05:00", "true",
    "True", "FALSE", "<<", "=", "!tag", "&a", "*a", "@", "`", "%", "|", ">", "'", '"', "{",
    "[]", "é", "日本語", "😀", "\u2028", "\x85", "\ufeff", "line\nbreak", "trailing\n", "\n",
    "\n\n", " \n x", "a\n \nb", "x\n  ", "tab\there", "\t", "\r\n", "1:20", "+1", "-0", "0.0",
    "---", "...", "\x00", "\x7f",
]  # fmt: skip
"""Strings that YAML readers take for something else, or that need care to write."""

strings = st.one_of(
    st.sampled_from(TRICKY_STRINGS),
    st.text(max_size=12),
    st.text(st.sampled_from(list(" \n\t#:-?,[]{}!&*'\"x0.|>é")), max_size=8),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(strings, children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(strings, json_values, max_size=5)

ROUND_TRIPS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@ROUND_TRIPS
@given(json_objects)
def test_json_objects_survive_both_formats(value: dict[str, Any]) -> None:
    written = docs.dump_yaml(value)
    assert same(parse(written, "yaml"), value), written
    assert same(parse(written, "auto"), value), written
    assert same(yaml.safe_load(written), value), written  # and so does a YAML 1.1 reader
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=2)):
        assert same(parse(text, "json"), value), text
        assert same(parse(text, "auto"), value), text
