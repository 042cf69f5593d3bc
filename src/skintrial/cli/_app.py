"""The one typer application every command module registers on, and its error policy.

Exit codes (DESIGN.md): 0 ok, 2 bad input (a message naming file, row, column and the fix; nothing
half-written), 1 internal error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from skintrial.errors import InputError, SkintrialWarning

app = typer.Typer(
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
