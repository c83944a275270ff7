"""The hand-written core under the generated ``nf-build`` command line.

The generated ``_cli.py`` describes each operation as data (a `Command`, its
`Parameter` rows and its `BodyField` rows, computed from the spec); `build_cli`
turns them into click commands, and `run_operation` does what a call does:

1. read the parameters from their flags, and the body (when the operation takes
   one): ``--file``, then ``--input`` over it, then one flag per field;
2. ask for what is still missing, when a person is at a terminal;
3. validate the parameters and the body with the spec's models (exit 2, nothing
   sent, every failing flag or JSON path named);
4. print the request (``--dry-run``), or ask before a DELETE, then send it
   through the Python client;
5. print the result (a list page by page as it arrives, or a 204's
   confirmation) as a table, JSON or YAML, or the error (exit 1 or 3).

Only the standard library and click are imported up front: ``--help`` and
``--dry-run`` never load the HTTP client, and the models load only to validate.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlencode

import click
from northflank_build._cli_documents import (
    DocumentError,
    format_for,
    parse_document,
    read_file,
)
from northflank_build._cli_output import MAX_FIELD_ERRORS_SHOWN, ItemStream, Printer, visible
from northflank_build._constants import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    TOKEN_ENV,
)
from northflank_build._paths import endpoint_url, json_path_step
from northflank_build._validity import valid

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
    "EXIT_INTERNAL_ERROR",
    "EXIT_USAGE_ERROR",
    "JSON_NUMBER",
    "BodyField",
    "Command",
    "Parameter",
    "ValueType",
    "build_cli",
    "run",
]

EXIT_API_ERROR = 1
EXIT_USAGE_ERROR = 2
EXIT_CONNECTION_ERROR = 3
EXIT_INTERNAL_ERROR = 70
"""A bug of nf-build's own (``EX_SOFTWARE``)."""
EXIT_ABORTED = 130
EXIT_BROKEN_PIPE = 141
"""As a shell reports a command ended by ``SIGPIPE``."""
DEBUG_ENV = "NF_BUILD_DEBUG"
"""Set to ``1`` to see the traceback of an internal error instead of one line."""
_MAX_INTERNAL_MESSAGE = 500

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0    success\n"
    "  1    API error (status, message and error id printed)\n"
    "  2    usage or validation error: nothing was sent\n"
    "  3    connection error or timeout\n"
    "  70   internal error: a bug in nf-build (NF_BUILD_DEBUG=1 shows the traceback)\n"
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
class Parameter:
    """A path, query or header parameter: one option with several names."""

    name: str
    """As on the wire: ``projectId``, ``per_page``, ``X-Trace-Id``."""
    python_name: str
    location: str
    """``path``, ``query`` or ``header``."""
    flags: tuple[str, ...]
    help: str
    kind: str = "string"
    """``string``, ``integer``, ``number`` or ``boolean`` (a flag: given means true)."""
    required: bool = False
    choices: tuple[str, ...] = ()
    """The enum values its bounds admit, as JSON text."""
    deprecated: bool = False

    @property
    def dest(self) -> str:
        """The click parameter's name, apart from the common options' and the body's."""
        return "param_" + self.python_name

    @property
    def json_path(self) -> str:
        """Where the parameters model reports it: ``$.per_page``, ``$["X-Trace-Id"]``."""
        return "$" + json_path_step(self.name)


@dataclass(frozen=True, slots=True)
class Command:
    """One operation, as the CLI offers it."""

    path: tuple[str, ...]
    """``("create", "service", "build")``: the spec's ``x-command-path``."""
    client_path: tuple[str, ...]
    """The same words as the Python client's attributes: ``("get", "widget_status")``."""
    summary: str
    description: str
    method: str
    url_path: str
    request_model: str | None
    """The body's model; ``None`` when the operation takes no body (no body options)."""
    body_required: bool
    parameters_model: str | None
    """The model every parameter value is validated by; ``None`` when there are none."""
    success_status: int
    returns_body: bool
    """Whether the success response has a body; a 204 has none."""
    result_id: str | None
    items_key: str | None
    """For a paginated list, where its items are (``widgets``); else ``None``."""
    destructive: bool
    """A DELETE: asked for at a terminal, refused without one unless ``--yes``/``--force``."""
    parameters: tuple[Parameter, ...]
    body_fields: tuple[BodyField, ...]
    example_json: str | None

    @property
    def path_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")

    @property
    def option_parameters(self) -> tuple[Parameter, ...]:
        """The query and header parameters."""
        return tuple(p for p in self.parameters if p.location != "path")

    @property
    def has_body(self) -> bool:
        return self.request_model is not None

    @property
    def paginated(self) -> bool:
        return self.items_key is not None


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE_ERROR


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# --------------------------------------------------------------------------- building the commands


def build_cli(commands: Sequence[Command], *, prog: str, version: str) -> click.Group:
    """The root group: one command per operation at its command path, plus the helpers.

    Each operation's `click.Command` (its options, help and examples) is built when it
    is first asked for: a run builds the one it calls (a group's help, the commands it
    lists), so start-up does not grow with the number of operations in the spec.
    """
    root = _RootGroup(
        prog,
        prog=prog,
        help=f"Call the Northflank API from the command line ({prog} {version}).\n\n"
        + EXIT_CODES_HELP,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    click.version_option(version, "-V", "--version", prog_name=prog)(root)
    for command in commands:
        group: _LazyGroup = root
        for word in command.path[:-1]:
            found = group.commands.get(word)
            if not isinstance(found, _LazyGroup):
                found = _LazyGroup(word, prog=prog, help=f"{word.capitalize()} resources.")
                group.add_command(found)
            group = found
        group.operations[command.path[-1]] = command
    root.add_command(_completion_command(root, prog))
    return root


class _LazyGroup(click.Group):
    """A group whose operations become click commands when first asked for."""

    def __init__(self, name: str, *, prog: str, **settings: Any) -> None:
        super().__init__(name, **settings)
        self.prog = prog
        self.operations: dict[str, Command] = {}
        """The operations not built yet, by command name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.operations})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        operation = self.operations.pop(cmd_name, None)
        if operation is not None:
            self.add_command(_operation_command(operation, self.prog))
        return super().get_command(ctx, cmd_name)


class _RootGroup(_LazyGroup):
    """The root group; ``context`` is imported only when it is used or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "context"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "context" and cmd_name not in self.commands:
            from northflank_build._cli_contexts import context_commands

            self.add_command(context_commands())
        return super().get_command(ctx, cmd_name)


def run(commands: Sequence[Command], *, prog: str, version: str) -> NoReturn:
    """The console script: exit codes as `EXIT_CODES_HELP` lists them.

    Whatever escapes is a bug, and a user should see one line saying so, not a
    traceback (``NF_BUILD_DEBUG=1`` shows it): the last of the handlers below.
    """
    cli = build_cli(commands, prog=prog, version=version)
    try:
        cli.main(prog_name=prog, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ABORTED)
    except click.ClickException as error:
        _show(error)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except Exception as error:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        _internal_error(prog, error)
    sys.exit(0)


def _show(error: click.ClickException) -> None:
    """click's ``Error: ...``, with any escape in the message (a flag's value, a file's
    name) shown, not acted on by the terminal."""
    # click declares `message` final; it is still the one place every subclass prints from.
    setattr(error, "message", visible(error.message, keep_newlines=True))  # noqa: B010
    error.show()


def _quiet_broken_pipe() -> NoReturn:
    """The reader went away (``nf-build ... | head``): stop without a word, as ``cat`` does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
    sys.exit(EXIT_BROKEN_PIPE)


def _internal_error(prog: str, error: Exception) -> NoReturn:
    message = visible(str(error)[:_MAX_INTERNAL_MESSAGE])
    try:
        click.echo(
            f"{prog}: internal error: {type(error).__name__}: {message} "
            "(this is a bug; please report it)",
            err=True,
        )
    finally:
        sys.exit(EXIT_INTERNAL_ERROR)


def _operation_command(command: Command, prog: str) -> click.Command:
    params: list[click.Parameter] = []
    for parameter in command.path_parameters:
        params.append(click.Option([*parameter.flags, parameter.dest], help=parameter.help))
    params += [_parameter_option(parameter) for parameter in command.option_parameters]
    if command.paginated:
        params.append(
            click.Option(
                ["--all", "--loadAll", "load_all"],
                is_flag=True,
                help="Walk every page (following each page's cursor), printing each as it "
                "arrives. Default: one page.",
            )
        )
    params += _common_options(command)
    params += [_field_option(field) for field in command.body_fields if field.flag]

    def callback(**values: Any) -> None:
        run_operation(command, values)

    return click.Command(
        command.path[-1],
        params=params,
        callback=callback,
        help="\n\n".join(
            part
            for part in (
                f"{command.summary}: {command.method} {command.url_path}",
                command.description,
                *_behaviour_help(command),
            )
            if part
        ),
        short_help=command.summary,
        epilog=_examples(command, prog) + "\n\n" + EXIT_CODES_HELP,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )


def _behaviour_help(command: Command) -> list[str]:
    """What the command does beyond sending: where the body comes from, pages, confirmation."""
    notes = []
    if command.has_body:
        notes.append(
            "The body comes from --file, then --input over it, then the field flags over both; "
            "at a terminal, what is still missing is asked for."
        )
    if command.paginated:
        notes.append(
            "A list: one page by default (--per-page, --page, --cursor choose which), every "
            "page with --all. The table prints each page as it arrives; -o json prints one "
            "JSON array of the items, written as pages arrive; -o yaml a YAML list; -q one id "
            "a line. When more pages remain, stderr says how to get the next."
        )
    if command.destructive:
        notes.append(
            "At a terminal it asks before sending; elsewhere it sends only with --yes (or "
            "--force), and refuses otherwise (exit 2, nothing sent)."
        )
    if not command.returns_body:
        notes.append(
            f"The API answers {command.success_status} with no content: the table output "
            "prints a one-line confirmation; -o json and -o yaml print nothing on stdout "
            "(the confirmation goes to stderr)."
        )
    return notes


def _examples(command: Command, prog: str) -> str:
    call = " ".join([prog, *command.path, *(_example_flag(p) for p in command.path_parameters)])
    noun = command.path[1] if len(command.path) > 2 else command.path[-1]
    lines = []
    if command.has_body:
        lines += [
            f"{call} -f {noun}.yaml",
            f"{call} -f {noun}.json --dry-run",
            f"{call}   (asks for what is missing)",
        ]
    elif command.destructive:
        lines += [f"{call} --yes", f"{call} --dry-run"]
    else:
        lines += [call, f"{call} --dry-run"]
    if command.paginated:
        lines += [f"{call} --all", f"{call} --per-page 50 -o json"]
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def _example_flag(parameter: Parameter) -> str:
    """``--project-id my-project``."""
    flag = parameter.flags[0]
    return f"{flag} my-{flag.removeprefix('--').removesuffix('-id')}"


def _parameter_option(parameter: Parameter) -> click.Option:
    """A query or header parameter's option: a boolean is a flag (``--delete-child-objects``,
    ``--no-delete-child-objects`` for false); the others take a value of their kind."""
    if parameter.kind == "boolean":
        primary, *aliases = parameter.flags
        negative = "--no-" + primary.removeprefix("--")
        return click.Option(
            [f"{primary}/{negative}", *aliases, parameter.dest],
            default=None,
            help=parameter.help,
        )
    value_type: ValueType
    if parameter.choices:
        value_type = click.Choice(parameter.choices)
    elif parameter.kind == "integer":
        value_type = JSON_INTEGER
    elif parameter.kind == "number":
        value_type = JSON_NUMBER
    else:
        value_type = click.STRING
    return click.Option([*parameter.flags, parameter.dest], type=value_type, help=parameter.help)


def _common_options(command: Command) -> list[click.Parameter]:
    body_options: list[click.Parameter] = [
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
    ]
    if command.destructive:
        confirmation = click.Option(
            ["-y", "--yes", "--force", "yes"],
            is_flag=True,
            help="Send without asking first (needed without a terminal).",
        )
    else:
        confirmation = click.Option(
            ["-y", "--yes"], is_flag=True, help="Send without the final confirmation."
        )
    return [
        *(body_options if command.has_body else []),
        click.Option(
            ["--no-input"],
            is_flag=True,
            help="Never prompt, even at a terminal: a missing field is an error.",
        ),
        confirmation,
        click.Option(
            ["--skip-validation"],
            is_flag=True,
            help="Send the body without checking it against the spec first."
            if command.has_body
            else "Send the parameters without checking them against the spec first.",
        ),
        click.Option(
            ["--dry-run"],
            is_flag=True,
            help="Validate and print the request that would be sent; send nothing.",
        ),
        click.Option(
            ["--strict"],
            is_flag=True,
            help="Fail when the API's answer has a field the spec does not know. "
            "Default: accept it, and print it too.",
        ),
        click.Option(
            ["-o", "--output"],
            type=click.Choice(["table", "json", "yaml"]),
            help="How to print the result. Default: table at a terminal, json when piped.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            help="Print only the ids of the items."
            if command.paginated
            else "Print only the new resource's id.",
        ),
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


class JsonInteger(JsonNumber):
    """A JSON integer: ``5``, not ``5.0``, ``five`` or ``true``."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        parsed = super().convert(value, param, ctx)
        if not isinstance(parsed, int):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        return parsed


JSON_INTEGER = JsonInteger()


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
    _refuse_unencodable_flags(values)
    target = _target(values)
    if not values["dry_run"]:
        _refuse_without_token(target)  # before any question: the answers would be wasted
    body, body_given = _body_from_inputs(command, values) if command.has_body else ({}, False)
    path_params = _path_params(command, values, target.context)
    options = _option_values(command, values)
    interactive = not values["no_input"] and _stdin_is_terminal() and values.get("file") != "-"
    if interactive:
        from northflank_build._cli_prompts import Prompter

        prompter = Prompter(command, validate=lambda b: _field_errors(command, b), printer=printer)
        asked = prompter.fill(body, path_params)
        body_given = body_given or bool(body)
        confirm = asked and not values["yes"] and not values["dry_run"] and not command.destructive
        if confirm:
            url = endpoint_url(target.base_url, command.url_path, path_params)
            if command.has_body:
                printer.show_body(body)
            if not click.confirm(f"Send {command.method} {url}?", default=True, err=True):
                printer.err("Nothing was sent.")
                sys.exit(EXIT_ABORTED)
    missing = [p for p in command.path_parameters if p.name not in path_params]
    if missing:
        hint = " (or set a default with: nf-build context add NAME --project-id ID)"
        raise UsageError(
            "missing "
            + ", ".join(p.flags[0] for p in missing)
            + (hint if any(p.name == "projectId" for p in missing) else "")
        )
    sends_body = command.has_body and (body_given or command.body_required)
    if not values["skip_validation"]:
        parameter_errors = _parameter_errors(command, {**path_params, **options})
        body_errors, more = _first_field_errors(command, body) if sends_body else ([], 0)
        if parameter_errors:
            printer.parameters_invalid(parameter_errors)
        if body_errors:
            printer.validation_failed(body_errors, more=more)
        if parameter_errors or body_errors:
            sys.exit(EXIT_USAGE_ERROR)
    url = endpoint_url(target.base_url, command.url_path, path_params) + _query_string(
        command, options
    )
    if values["dry_run"]:
        printer.dry_run(
            command.method,
            url,
            body if sends_body else None,
            token=target.token,
            validated=not values["skip_validation"],
            headers=_header_values(command, options),
        )
        return
    if command.destructive and not values["yes"]:
        _confirm_destructive(command, url, interactive=interactive, printer=printer)
    _send(
        command, values, target, {**path_params, **options}, body if sends_body else None, printer
    )


def _confirm_destructive(
    command: Command, url: str, *, interactive: bool, printer: Printer
) -> None:
    """Ask at a terminal (No by default); without one, refuse: only --yes/--force send."""
    if not interactive:
        raise UsageError(
            f"{command.summary} cannot be undone, and there is no terminal to confirm at: "
            f"add --yes (or --force) to send {command.method} {url}; nothing was sent."
        )
    if not click.confirm(f"{command.summary}: {command.method} {url}?", default=False, err=True):
        printer.err("Nothing was sent.")
        sys.exit(EXIT_ABORTED)


def _option_values(command: Command, values: Mapping[str, Any]) -> dict[str, Any]:
    """The query and header parameters given, by wire name, as JSON values (a choice's
    ``"5"`` -> 5); a boolean flag left out is not sent."""
    given: dict[str, Any] = {}
    for parameter in command.option_parameters:
        value = values[parameter.dest]
        if value is None:
            continue
        if parameter.choices and parameter.kind != "string" and isinstance(value, str):
            value = json.loads(value)
        given[parameter.name] = value
    return given


def _wire_text(value: Any) -> str:
    """A parameter's value as the query string or a header carries it: ``true``, ``5``."""
    return value if isinstance(value, str) else json.dumps(value)


def _query_string(command: Command, options: Mapping[str, Any]) -> str:
    """``?per_page=5&size=2`` for the query parameters given, in spec order; else ``""``."""
    pairs = [
        (p.name, _wire_text(options[p.name]))
        for p in command.option_parameters
        if p.location == "query" and p.name in options
    ]
    return "?" + urlencode(pairs) if pairs else ""


def _header_values(command: Command, options: Mapping[str, Any]) -> dict[str, str]:
    return {
        p.name: _wire_text(options[p.name])
        for p in command.option_parameters
        if p.location == "header" and p.name in options
    }


def _parameter_errors(command: Command, parameters: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The parameters model's verdict: each failing `FieldError` with the flag it names."""
    if command.parameters_model is None or valid(command.parameters_model, dict(parameters)):
        return []  # the fast check: a valid call loads neither pydantic nor the models
    from pydantic import ValidationError

    model = getattr(_generated("models"), command.parameters_model)
    try:
        model.model_validate(dict(parameters))
    except ValidationError as error:
        from northflank_build._errors import field_errors

        flags = {p.json_path: p.flags[0] for p in command.parameters}
        return [(flags.get(e.path, e.path), e) for e in field_errors(model, error)]
    return []


def _target(values: Mapping[str, Any]) -> Target:
    """The token and base URL, each from the first place that gives one, checked there:
    an error names that place (``--token``, ``$NORTHFLANK_API_TOKEN``, a context), never
    the token itself."""
    from northflank_build._cli_contexts import (
        default_config_path,
        resolve_context,
        token_problem,
        url_problem,
    )

    context = resolve_context(default_config_path(), values["context"])
    # A context named on the command line wins over the environment; the current
    # context, chosen once and long ago, does not.
    named = context if values["context"] else None
    token, token_source = _first_given(
        ("--token", values["token"]),
        (_context_source(named), named.token if named else None),
        (f"${TOKEN_ENV}", os.environ.get(TOKEN_ENV)),
        (_context_source(context), context.token if context else None),
    )
    base_url, url_source = _first_given(
        ("--base-url", values["base_url"]),
        (_context_source(named), named.base_url if named else None),
        (f"${BASE_URL_ENV}", os.environ.get(BASE_URL_ENV)),
        (_context_source(context), context.base_url if context else None),
        ("the default base URL", DEFAULT_BASE_URL),
    )
    assert base_url is not None  # the default is always given
    problem = url_problem(base_url)
    if problem is not None:
        raise UsageError(f"{url_source}: {problem}")
    problem = None if token is None else token_problem(token)
    if problem is not None:
        raise UsageError(f"{token_source}: {problem}")
    return Target(token=token, base_url=base_url, context=context)


def _first_given(*candidates: tuple[str, str | None]) -> tuple[str | None, str]:
    """The first value given (an empty one is not), and where it came from."""
    for source, value in candidates:
        if value:
            return value, source
    return None, ""


def _context_source(context: Context | None) -> str:
    return f"the context {context.name!r}" if context is not None else ""


def _refuse_without_token(target: Target) -> None:
    """Every operation needs a token: without one, say how to give one, and send nothing."""
    if target.token is None:
        raise UsageError(
            f"no API token: give --token TOKEN, set ${TOKEN_ENV}, or save one in a context "
            "(nf-build context add NAME --token -); nothing was sent. "
            "--dry-run shows the request without one."
        )


def _refuse_unencodable_flags(values: Mapping[str, Any]) -> None:
    """A flag's value with a lone surrogate (bytes that are not UTF-8 on the command line)
    cannot be sent or even printed: refused by the flag's name."""
    context = click.get_current_context(silent=True)
    flags = {p.name: max(p.opts, key=len) for p in context.command.params} if context else {}
    for dest, value in values.items():
        texts = value if isinstance(value, tuple | list) else (value,)
        for text in texts:
            if isinstance(text, str) and _LONE_SURROGATE.search(text):
                flag = flags.get(dest, dest)
                where = flag if dest == "token" else f"{flag} {text!r}"
                raise UsageError(
                    f"{where} has a lone surrogate or bytes that are not UTF-8; "
                    "give text that is valid UTF-8"
                )


def _path_params(
    command: Command, values: Mapping[str, Any], context: Context | None
) -> dict[str, str]:
    params: dict[str, str] = {}
    for parameter in command.path_parameters:
        value = values[parameter.dest]
        if value is None and parameter.name == "projectId" and context is not None:
            value = context.project_id
        if value is not None:
            if not value:
                raise UsageError(f"{parameter.flags[0]} must not be empty")
            params[parameter.name] = value
    return params


def _body_from_inputs(command: Command, values: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """``--file``, then ``--input`` merged over it, then each field flag over both;
    and whether any of them was given (an optional body is sent only then)."""
    body: dict[str, Any] = {}
    provided = values["file"] is not None or values["input_text"] is not None
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
        provided = True
    return body, provided


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

    if command.request_model is None:
        return []
    model = getattr(_generated("models"), command.request_model)
    try:
        model.model_validate(body)
    except ValidationError as error:
        from northflank_build._errors import field_errors  # only a failure needs its paths

        return field_errors(model, error)
    return []


def _first_field_errors(command: Command, body: Mapping[str, Any]) -> tuple[list[Any], int]:
    """The first `MAX_FIELD_ERRORS_SHOWN` of the models' verdict, and how many more fail:
    a body with 100,000 bad items is described in 51 lines, and quickly."""
    if command.request_model is None or valid(command.request_model, body):
        return [], 0  # the fast check: a valid body loads neither pydantic nor the models
    from pydantic import ValidationError

    model = getattr(_generated("models"), command.request_model)
    try:
        model.model_validate(body)
    except ValidationError as error:
        from northflank_build._errors import first_field_errors

        return first_field_errors(model, error, MAX_FIELD_ERRORS_SHOWN)
    return [], 0


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
    parameters: Mapping[str, Any],
    body: Mapping[str, Any] | None,
    printer: Printer,
) -> None:
    """Call the operation through the Python client and print what it returns."""
    import httpx
    from northflank_build._exceptions import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        ResponseTooLargeError,
    )

    hooks: dict[str, list[Callable[[Any], None]]] = {}
    if values["verbose"]:
        hooks = {"request": [printer.verbose_request], "response": [printer.verbose_response]}
    options: dict[str, Any] = {"token": target.token, "base_url": target.base_url}
    if values["timeout"] is not None:
        options["timeout"] = values["timeout"]
    if values["max_retries"] is not None:
        options["max_retries"] = values["max_retries"]
    if values["strict"]:
        options["strict_response_validation"] = True
    arguments = {
        p.python_name: parameters[p.name] for p in command.parameters if p.name in parameters
    }
    if body is not None:
        arguments["data"] = copy.deepcopy(dict(body))
    client_class = _generated("_client").Client
    with client_class(**options, http_client=httpx.Client(event_hooks=hooks)) as client:
        call: Any = reduce(getattr, command.client_path, client)
        try:
            result = call(**arguments, skip_validation=True)
            if command.paginated:
                _print_pages(command, result, load_all=values["load_all"], printer=printer)
                return
        except APIStatusError as error:
            printer.api_error(error)
            sys.exit(EXIT_API_ERROR)
        except ResponseTooLargeError as error:
            printer.error(
                f"the API's answer is larger than {error.limit} bytes, more than any answer "
                "the spec describes; reading stopped there."
            )
            sys.exit(EXIT_API_ERROR)
        except RecursionError:
            printer.error("the API's answer is nested too deeply to read.")
            sys.exit(EXIT_API_ERROR)
        except APIResponseValidationError as error:
            printer.error(f"the API's response does not match the spec: {error.message}")
            sys.exit(EXIT_API_ERROR)
        except APITimeoutError:
            seconds = values["timeout"] or DEFAULT_TIMEOUT
            printer.error(
                f"no complete answer within {seconds:g} s, the deadline of each attempt "
                f"({target.base_url}); give --timeout SECONDS to wait longer."
            )
            sys.exit(EXIT_CONNECTION_ERROR)
        except APIConnectionError as error:
            printer.error(f"{error.message} ({target.base_url})")
            sys.exit(EXIT_CONNECTION_ERROR)
        except KeyboardInterrupt:
            printer.error("interrupted while waiting for the API: the request may have reached it.")
            sys.exit(EXIT_ABORTED)
    if result is None:
        printer.no_content(title=command.summary, status=command.success_status)
        return
    printer.result(_json_value(result), id_key=command.result_id, title=command.summary)


def _print_pages(command: Command, page: Any, *, load_all: bool, printer: Printer) -> None:
    """Each page's items as the page arrives; with ``load_all``, every next page too."""
    stream = ItemStream(printer, id_key="id")
    stream.page([_json_value(item) for item in page.items])
    while load_all and page.has_next_page():
        page = page.next_page()
        stream.page([_json_value(item) for item in page.items])
    stream.close()
    if not load_all and page.has_next_page():
        cursor = getattr(page.pagination, "cursor", None)
        after = f"--cursor {cursor}" if cursor else "--page N"
        printer.err(f"More {command.items_key} remain: add {after} for the next page, or --all.")


def _json_value(result: Any) -> Any:
    """A parsed result as JSON values, with the fields the spec does not know that a
    lenient client kept (each model's ``model_extra``), at every level."""
    from pydantic import BaseModel
    from pydantic_core import to_jsonable_python

    def merged(value: Any, dumped: Any) -> Any:
        if isinstance(value, BaseModel) and isinstance(dumped, dict):
            for name, field in type(value).model_fields.items():
                key = field.alias or name
                if key in dumped:
                    dumped[key] = merged(getattr(value, name), dumped[key])
            for key, extra in (value.model_extra or {}).items():
                dumped.setdefault(key, to_jsonable_python(extra))
        elif isinstance(value, list | tuple) and isinstance(dumped, list):
            return [merged(v, d) for v, d in zip(value, dumped, strict=False)]
        elif isinstance(value, dict) and isinstance(dumped, dict):
            return {k: merged(value.get(k), d) for k, d in dumped.items()}
        elif isinstance(value, BaseModel) and hasattr(value, "root"):
            return merged(value.root, dumped)
        return dumped

    return merged(result, result.model_dump(mode="json"))
