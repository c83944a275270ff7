"""The hand-written core under the generated ``nf-build`` command line.

The generated ``_cli.py`` describes each operation as data (a `Command` and
its `BodyField` rows, computed from the spec); `build_cli` turns them into
click commands, and `run_operation` does what a call does:

1. read the body: ``--file``, then ``--input`` over it, then one flag per field;
2. ask for what is still missing, when a person is at a terminal;
3. validate with the spec's models (exit 2, nothing sent, every failing path named);
4. print the request (``--dry-run``) or send it through the Python client;
5. print the result as a table, JSON or YAML, or the error (exit 1 or 3).

Only the standard library and click are imported up front: ``--help`` and
``--dry-run`` never load the HTTP client, and the models load only to validate.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any, NoReturn

import click
from northflank_build._cli_documents import (
    DocumentError,
    format_for,
    parse_document,
    read_file,
)
from northflank_build._cli_output import Printer
from northflank_build._constants import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    TOKEN_ENV,
)
from northflank_build._paths import endpoint_url

if TYPE_CHECKING:
    from northflank_build._cli_contexts import Context

    # click 8.5 made ParamType generic; earlier versions, which the package also allows,
    # cannot subscript it at run time.
    ValueType = click.ParamType[Any, Any]
else:
    ValueType = click.ParamType

__all__ = [
    "EXIT_ABORTED",
    "EXIT_API_ERROR",
    "EXIT_CONNECTION_ERROR",
    "EXIT_USAGE_ERROR",
    "JSON_NUMBER",
    "BodyField",
    "Command",
    "PathParameter",
    "ValueType",
    "build_cli",
    "run",
]

EXIT_API_ERROR = 1
EXIT_USAGE_ERROR = 2
EXIT_CONNECTION_ERROR = 3
EXIT_ABORTED = 130

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0    success\n"
    "  1    API error (status, message and error id printed)\n"
    "  2    usage or validation error: nothing was sent\n"
    "  3    connection error or timeout\n"
    "  130  interrupted, or declined at the confirmation"
)


@dataclass(frozen=True, slots=True)
class BodyField:
    """One node of a request body, by its JSON path (see the generator's ``body_fields``)."""

    path: tuple[str, ...]
    kind: str
    """``object``, ``oneOf``, ``string``, ``integer``, ``number``, ``boolean``, ``list``,
    ``map`` or ``json``."""
    item_kind: str | None = None
    required: bool = False
    variants: tuple[int, ...] = ()
    variant_titles: tuple[str, ...] = ()
    variant_keys: tuple[tuple[str, ...], ...] = ()
    flag: str | None = None
    short_flag: str | None = None
    help: str = ""
    choices: tuple[str, ...] = ()
    example_json: str | None = None
    deprecated: bool = False

    @property
    def label(self) -> str:
        return ".".join(self.path)

    @property
    def json_path(self) -> str:
        return "$." + self.label

    @property
    def dest(self) -> str:
        """The click parameter's name: the flag, as an identifier."""
        return "body_" + (self.flag or self.label).lstrip("-").replace("-", "_")

    @property
    def value_kind(self) -> str:
        """The kind of one value given on the command line."""
        return self.item_kind or self.kind


@dataclass(frozen=True, slots=True)
class PathParameter:
    name: str
    python_name: str
    flags: tuple[str, ...]
    help: str


@dataclass(frozen=True, slots=True)
class Command:
    """One operation, as the CLI offers it."""

    path: tuple[str, ...]
    """``("create", "service", "build")``: the spec's ``x-command-path``."""
    summary: str
    description: str
    method: str
    url_path: str
    request_model: str
    result_id: str | None
    path_parameters: tuple[PathParameter, ...]
    body_fields: tuple[BodyField, ...]
    example_json: str | None


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE_ERROR


# --------------------------------------------------------------------------- building the commands


def build_cli(commands: Sequence[Command], *, prog: str, version: str) -> click.Group:
    """The root group: one command per operation at its command path, plus the helpers."""
    root = _RootGroup(
        prog,
        help=f"Call the Northflank API from the command line ({prog} {version}).\n\n"
        + EXIT_CODES_HELP,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    click.version_option(version, "-V", "--version", prog_name=prog)(root)
    for command in commands:
        group: click.Group = root
        for word in command.path[:-1]:
            found = group.commands.get(word)
            if not isinstance(found, click.Group):
                found = click.Group(word, help=f"{word.capitalize()} resources.")
                group.add_command(found)
            group = found
        group.add_command(_operation_command(command, prog))
    root.add_command(_completion_command(root, prog))
    return root


class _RootGroup(click.Group):
    """The root group; ``context`` is imported only when it is used or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, "context"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "context" and cmd_name not in self.commands:
            from northflank_build._cli_contexts import context_commands

            self.add_command(context_commands())
        return super().get_command(ctx, cmd_name)


def run(commands: Sequence[Command], *, prog: str, version: str) -> NoReturn:
    """The console script: exit codes as `EXIT_CODES_HELP` lists them."""
    cli = build_cli(commands, prog=prog, version=version)
    try:
        cli.main(prog_name=prog, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ABORTED)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    sys.exit(0)


def _operation_command(command: Command, prog: str) -> click.Command:
    params: list[click.Parameter] = []
    for parameter in command.path_parameters:
        params.append(click.Option([*parameter.flags, parameter.python_name], help=parameter.help))
    params += _common_options()
    params += [_field_option(field) for field in command.body_fields if field.flag]
    example = " ".join(command.path)
    epilog = (
        f"\b\nExamples:\n"
        f"  {prog} {example} --project-id my-project -f service.yaml\n"
        f"  {prog} {example} --project-id my-project -f service.json --dry-run\n"
        f"  {prog} {example} --project-id my-project   (asks for what is missing)\n\n"
        + EXIT_CODES_HELP
    )

    def callback(**values: Any) -> None:
        run_operation(command, values)

    return click.Command(
        command.path[-1],
        params=params,
        callback=callback,
        help=f"{command.summary}: {command.method} {command.url_path}\n\n{command.description}\n\n"
        "The body comes from --file, then --input over it, then the field flags over both; "
        "at a terminal, what is still missing is asked for.",
        short_help=command.summary,
        epilog=epilog,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )


def _common_options() -> list[click.Parameter]:
    return [
        click.Option(
            ["-f", "--file"],
            type=click.Path(dir_okay=False, allow_dash=True),
            metavar="PATH",
            help="The request body, JSON or YAML by extension; - reads stdin.",
        ),
        click.Option(
            ["-i", "--input", "input_text"],
            metavar="TEXT",
            help="The request body as JSON or YAML text; its values win over --file's.",
        ),
        click.Option(
            ["--no-input"],
            is_flag=True,
            help="Never prompt, even at a terminal: a missing field is an error.",
        ),
        click.Option(["-y", "--yes"], is_flag=True, help="Send without the final confirmation."),
        click.Option(
            ["--skip-validation"],
            is_flag=True,
            help="Send the body without checking it against the spec first.",
        ),
        click.Option(
            ["--dry-run"],
            is_flag=True,
            help="Validate and print the request that would be sent; send nothing.",
        ),
        click.Option(
            ["-o", "--output"],
            type=click.Choice(["table", "json", "yaml"]),
            help="How to print the result. Default: table at a terminal, json when piped.",
        ),
        click.Option(["-q", "--quiet"], is_flag=True, help="Print only the new resource's id."),
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            help="Print each HTTP request and response to stderr (token redacted).",
        ),
        click.Option(
            ["--token"],
            metavar="TOKEN",
            help=f"The API token. Default: the --context's, then ${TOKEN_ENV}, "
            "then the current context's.",
        ),
        click.Option(
            ["--base-url"],
            metavar="URL",
            help=f"The API's base URL. Default: the --context's, then ${BASE_URL_ENV}, "
            f"then the current context's, then {DEFAULT_BASE_URL}.",
        ),
        click.Option(
            ["--context"],
            metavar="NAME",
            help="The saved context to use (token, base URL, project). Default: the current one.",
        ),
        click.Option(
            ["--timeout"],
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help=f"How long to wait for the API. Default: {DEFAULT_TIMEOUT:g}.",
        ),
        click.Option(
            ["--max-retries"],
            type=click.IntRange(min=0),
            metavar="N",
            help=f"Retries after a connection error, 408, 429 or 5xx. "
            f"Default: {DEFAULT_MAX_RETRIES}.",
        ),
    ]


def _field_option(field: BodyField) -> click.Option:
    names = [n for n in (field.short_flag, field.flag) if n]
    help_text = field.help
    if field.kind == "boolean":
        negative = "--no-" + (field.flag or "").removeprefix("--")
        return click.Option([f"{field.flag}/{negative}", field.dest], default=None, help=help_text)
    value_type = _click_type(field)
    return click.Option(
        [*names, field.dest],
        type=value_type,
        multiple=field.kind in ("list", "map"),
        help=help_text,
        metavar="KEY=VALUE" if field.kind == "map" else None,
    )


def _click_type(field: BodyField) -> ValueType:
    if field.choices:
        return click.Choice(field.choices)
    return {
        "integer": click.INT,
        "number": JSON_NUMBER,
        "boolean": click.BOOL,
    }.get(field.value_kind, click.STRING)


class JsonNumber(ValueType):
    """A JSON number: an integer stays an integer; NaN and infinities are refused."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        try:
            parsed = json.loads(str(value).strip())
        except ValueError:
            parsed = None
        if isinstance(parsed, bool) or not isinstance(parsed, int | float):
            self.fail(f"{value!r} is not a number", param, ctx)
        return parsed


JSON_NUMBER = JsonNumber()


def _completion_command(root: click.Group, prog: str) -> click.Command:
    @click.command(
        "completion",
        help=f"Print the shell completion script.\n\n\b\nAdd to your shell's startup file:\n"
        f'  bash:  eval "$({prog} completion bash)"\n'
        f'  zsh:   eval "$({prog} completion zsh)"\n'
        f"  fish:  {prog} completion fish | source",
    )
    @click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
    def completion(shell: str) -> None:
        from click.shell_completion import get_completion_class

        complete_var = "_{}_COMPLETE".format(prog.replace("-", "_").upper())
        completion_class = get_completion_class(shell)
        if completion_class is None:  # pragma: no cover - the choices are all known
            raise UsageError(f"no completion for {shell}")
        click.echo(completion_class(root, {}, prog, complete_var).source())

    return completion


# --------------------------------------------------------------------------- running an operation


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes, and as whom."""

    token: str | None
    base_url: str
    context: Context | None


def run_operation(command: Command, values: Mapping[str, Any]) -> None:
    printer = Printer.for_streams(output=values["output"], quiet=values["quiet"])
    target = _target(values)
    body = _body_from_inputs(command, values)
    path_params = _path_params(command, values, target.context)
    interactive = not values["no_input"] and _stdin_is_terminal() and values["file"] != "-"
    if interactive:
        from northflank_build._cli_prompts import Prompter

        prompter = Prompter(command, validate=lambda b: _field_errors(command, b), printer=printer)
        asked = prompter.fill(body, path_params)
        if asked and not values["yes"] and not values["dry_run"]:
            url = endpoint_url(target.base_url, command.url_path, path_params)
            printer.show_body(body)
            if not click.confirm(f"Send {command.method} {url}?", default=True, err=True):
                printer.err("Nothing was sent.")
                sys.exit(EXIT_ABORTED)
    missing = [p for p in command.path_parameters if p.name not in path_params]
    if missing:
        raise UsageError(
            "missing "
            + ", ".join(p.flags[0] for p in missing)
            + " (or set a default with: nf-build context add NAME --project-id ID)"
        )
    if not values["skip_validation"]:
        errors = _field_errors(command, body)
        if errors:
            printer.validation_failed(errors)
            sys.exit(EXIT_USAGE_ERROR)
    url = endpoint_url(target.base_url, command.url_path, path_params)
    if values["dry_run"]:
        printer.dry_run(
            command.method, url, body, token=target.token, validated=not values["skip_validation"]
        )
        return
    _send(command, values, target, path_params, body, printer)


def _target(values: Mapping[str, Any]) -> Target:
    from northflank_build._cli_contexts import default_config_path, resolve_context

    context = resolve_context(default_config_path(), values["context"])
    # A context named on the command line wins over the environment; the current
    # context, chosen once and long ago, does not.
    named = context if values["context"] else None
    token = (
        values["token"]
        or (named and named.token)
        or os.environ.get(TOKEN_ENV)
        or (context and context.token)
        or None
    )
    base_url = (
        values["base_url"]
        or (named and named.base_url)
        or os.environ.get(BASE_URL_ENV)
        or (context and context.base_url)
        or DEFAULT_BASE_URL
    )
    if not base_url.startswith(("http://", "https://")):
        raise UsageError(f"the base URL must start with http:// or https://, not {base_url!r}")
    return Target(token=token, base_url=base_url, context=context)


def _path_params(
    command: Command, values: Mapping[str, Any], context: Context | None
) -> dict[str, str]:
    params: dict[str, str] = {}
    for parameter in command.path_parameters:
        value = values[parameter.python_name]
        if value is None and parameter.name == "projectId" and context is not None:
            value = context.project_id
        if value is not None:
            if not value:
                raise UsageError(f"{parameter.flags[0]} must not be empty")
            params[parameter.name] = value
    return params


def _body_from_inputs(command: Command, values: Mapping[str, Any]) -> dict[str, Any]:
    """``--file``, then ``--input`` merged over it, then each field flag over both."""
    body: dict[str, Any] = {}
    try:
        if values["file"] is not None:
            text, source = read_file(values["file"])
            body = parse_document(text, source=source, fmt=format_for(values["file"]))
        if values["input_text"] is not None:
            given = parse_document(values["input_text"], source="--input", fmt="auto")
            body = _merged(body, given)
    except DocumentError as error:
        raise UsageError(str(error)) from error
    for field in command.body_fields:
        if field.flag is None:
            continue
        value = values[field.dest]
        if value is None or (field.kind in ("list", "map") and not value):
            continue
        _set(body, field, _flag_value(field, value))
    return body


def _merged(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: objects merge key by key, any other value replaces."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def _flag_value(field: BodyField, value: Any) -> Any:
    if field.kind == "map":
        entries: dict[str, Any] = {}
        for entry in value:
            key, separator, item = str(entry).partition("=")
            if not separator or not key:
                raise UsageError(f"{field.flag} takes KEY=VALUE, not {entry!r}")
            entries[key] = _typed(field, item)
        return entries
    if field.kind == "list":
        return [_typed(field, item) for item in value]
    return _typed(field, value)


def _typed(field: BodyField, value: Any) -> Any:
    """A choice's JSON value (``"16384"`` -> 16384); other values are typed by click."""
    if field.choices and isinstance(value, str) and field.value_kind != "string":
        return json.loads(value)
    if field.kind == "map" and field.value_kind != "string":
        return _click_type(field).convert(value, None, None)
    return value


def _set(body: dict[str, Any], field: BodyField, value: Any) -> None:
    """Put a flag's value at its field's path; a map's entries join the map already there."""
    node = body
    for depth, key in enumerate(field.path[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            where = "$." + ".".join(field.path[: depth + 1])
            raise UsageError(f"{field.flag} sets a value inside {where}, which is not an object")
        node = child
    given = node.get(field.path[-1])
    if field.kind == "map" and isinstance(given, dict):
        value = {**given, **value}
    node[field.path[-1]] = value


def _field_errors(command: Command, body: Mapping[str, Any]) -> list[Any]:
    """The models' verdict on ``body``: one `FieldError` per failing JSON path."""
    from pydantic import ValidationError

    model = getattr(_generated("models"), command.request_model)
    try:
        model.model_validate(body)
    except ValidationError as error:
        from northflank_build._errors import field_errors  # only a failure needs its paths

        return field_errors(model, error)
    return []


def _generated(module: str) -> Any:
    """A generated module of this package (``models``, ``_client``), imported when first needed.

    By name, as the commands name their models: the runtime is written, and
    type-checked, without the modules generated from the spec.
    """
    return importlib.import_module(f"{__package__}.{module}")


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _send(
    command: Command,
    values: Mapping[str, Any],
    target: Target,
    path_params: Mapping[str, str],
    body: Mapping[str, Any],
    printer: Printer,
) -> None:
    import httpx
    from northflank_build._exceptions import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
    )

    hooks: dict[str, list[Callable[[Any], None]]] = {}
    if values["verbose"]:
        hooks = {"request": [printer.verbose_request], "response": [printer.verbose_response]}
    options: dict[str, Any] = {"token": target.token, "base_url": target.base_url}
    if values["timeout"] is not None:
        options["timeout"] = values["timeout"]
    if values["max_retries"] is not None:
        options["max_retries"] = values["max_retries"]
    parameters = {p.python_name: path_params[p.name] for p in command.path_parameters}
    client_class = _generated("_client").Client
    with client_class(**options, http_client=httpx.Client(event_hooks=hooks)) as client:
        call: Any = reduce(getattr, command.path, client.with_raw_response)
        try:
            response = call(**parameters, data=copy.deepcopy(dict(body)), skip_validation=True)
            result = response.parse()
        except APIStatusError as error:
            printer.api_error(error)
            sys.exit(EXIT_API_ERROR)
        except APIResponseValidationError as error:
            printer.error(f"the API's response does not match the spec: {error.message}")
            sys.exit(EXIT_API_ERROR)
        except APIConnectionError as error:
            printer.error(f"{error.message} ({target.base_url})")
            sys.exit(EXIT_CONNECTION_ERROR)
        except KeyboardInterrupt:
            printer.error("interrupted while waiting for the API: the request may have reached it.")
            sys.exit(EXIT_ABORTED)
    printer.result(result.model_dump(mode="json"), id_key=command.result_id, title=command.summary)
