"""The one typer application every command module registers on, its error policy, and help that fits
an 80-column terminal (:class:`Command`).

Exit codes (DESIGN.md): 0 ok, 2 bad input (a message naming file, row, column and the fix; nothing
half-written), 1 internal error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args

import typer
import typer.rich_utils
from rich.console import Console
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from skintrial.errors import InputError, SkintrialWarning

#: Width of help and tables written to a file or a pipe when COLUMNS does not say (rich's own 80 cuts
#: option names and table cells); a terminal, or COLUMNS, always decides.
OFF_TERMINAL_WIDTH = 100


def output_width(console: Console) -> int | None:
    """The width to render at: None (the console's own) on a terminal or with COLUMNS set, else
    :data:`OFF_TERMINAL_WIDTH`."""
    return None if console.is_terminal or os.environ.get("COLUMNS") else OFF_TERMINAL_WIDTH


def _element_type(param: TyperArgument | TyperOption) -> str:
    """``<path>`` / ``<str>`` for a list parameter: the type of one value, not ``<list[Path]>``."""
    args = get_args(param.type_descriptor.annotation)
    element = args[0] if args else str
    if isinstance(element, type) and issubclass(element, Path):
        return "<path>"
    return f"<{getattr(element, '__name__', element)}>"


class _ListArgument(TyperArgument):
    """A list argument shown as ``<path>...`` (several values of one type)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return _element_type(self) + "..."


class _ListOption(TyperOption):
    """A repeatable option shown with the type of one value (its help says it repeats)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return self.metavar if self.metavar is not None else _element_type(self)


def _reflow(text: str) -> str:
    """Docstring paragraphs as paragraphs: rich help keeps single newlines, so the source's line breaks
    (wrapped for the editor, not the terminal) would cut every line short; ``\\b`` paragraphs are kept."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)


@contextlib.contextmanager
def _help_width() -> Iterator[None]:
    """Help rendered at :func:`output_width` (typer reads its console width from a module setting, so it
    is set for the one rendering and restored; TERMINAL_WIDTH, when the user set it, wins)."""
    saved = typer.rich_utils.MAX_WIDTH
    typer.rich_utils.MAX_WIDTH = saved if saved is not None else output_width(Console())
    try:
        yield
    finally:
        typer.rich_utils.MAX_WIDTH = saved


class Command(TyperCommand):
    """A command whose help fits a terminal: paragraphs reflowed to its width, list parameters shown by
    the type of one value, and 100 columns when written to a file or a pipe (:func:`output_width`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = _reflow(self.help)
        for param in self.params:
            if isinstance(param, TyperArgument | TyperOption) and param.type_descriptor.is_list:
                param.__class__ = _ListArgument if isinstance(param, TyperArgument) else _ListOption

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_width():
            super().format_help(ctx, formatter)


class Group(TyperGroup):
    """A group (the app, ``import``) whose help is rendered as :class:`Command`'s."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _help_width():
            super().format_help(ctx, formatter)


class Typer(typer.Typer):
    """skintrial's typer application: its groups are :class:`Group` and its commands :class:`Command`."""

    def __init__(self, *, cls: type[TyperGroup] | None = None, **kwargs: Any) -> None:
        super().__init__(cls=cls or Group, **kwargs)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Any:
        return super().command(name, cls=cls or Command, **kwargs)


app = Typer(
    name="skintrial",
    help="Exercise and skin-aging intervention studies: raw instrument data to a trial-grade report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# markup off: what is printed holds user paths and values ("[red]study", "x[/]y"), never rich markup
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
out_console = Console(highlight=False, soft_wrap=True, markup=False)

F = TypeVar("F", bound=Callable[..., Any])


def _say_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """skintrial's own warnings (a fit that could not be made, a quality flag) are said to the user as
    one plain line; other libraries' warnings keep Python's form (a source line helps a bug report)."""
    if issubclass(category, SkintrialWarning):
        err_console.print(Text("warning: ", style="bold yellow") + Text(str(message)))
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


_python_showwarning = warnings.showwarning


def guarded(fn: F) -> F:
    """Turn an :class:`InputError` into exit code 2 with its message on stderr; skintrial's warnings
    are printed as plain ``warning:`` lines while the command runs."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _say_warning
            try:
                return fn(*args, **kwargs)
            except InputError as exc:
                err_console.print(Text("error: ", style="bold red") + Text(str(exc)))
                raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def options_named(options: Mapping[str, str]) -> Iterator[None]:
    """Problems the Python API reports against a keyword (``column='n'``, "pass n=8") are said in
    terms of the command's options (``--n``, "pass --n 8") for input errors raised inside the block."""
    try:
        yield
    except InputError as exc:
        problems = []
        for p in exc.problems:
            option = options.get(p.column or "")
            if option is not None:
                name = re.escape(p.column or "")
                p = dataclasses.replace(
                    p,
                    column=option,
                    message=re.sub(rf"^(the )?{name}\b", option, p.message),
                    fix=re.sub(rf"\b{name}=", f"{option} ", p.fix),
                )
            problems.append(p)
        raise InputError(problems) from None


CLUSTER = typer.Option(
    "--cluster",
    envvar="SKINTRIAL_CLUSTER",
    show_envvar=True,
    help=(
        "Run on a Dask cluster: local (a worker process per core), local:N (N workers) or "
        "tcp://HOST:PORT (a running scheduler). Results are identical to a run without it (docs/scale.md)."
    ),
)
"""The one ``--cluster`` option of every command that can run on a cluster (issue 16)."""


@contextlib.contextmanager
def on_cluster(text: str | None) -> Iterator[Any]:
    """The runner ``--cluster`` names (this process without it), said on stderr, for a ``with`` block;
    pass it as ``client=`` to the library function."""
    from skintrial.cluster import InProcess, connect

    with err_console.status(f"starting the cluster {text}") if text else contextlib.nullcontext():
        stack = contextlib.ExitStack()
        runner = stack.enter_context(connect(text))
    with stack:
        if not isinstance(runner, InProcess):
            err_console.print(f"cluster: {text} ({runner.workers} workers)")
        yield runner
