"""``skintrial import redcap``: a REDCap project (records export + data dictionary) into a study bundle."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from skintrial.cli._app import Typer, app, err_console, guarded, out_console

import_app = Typer(
    name="import",
    help="Bring a study in from the system that captured it (REDCap) as a study bundle.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import", rich_help_panel="Study")


@import_app.command("redcap")
@guarded
def redcap(
    records: Annotated[Path, typer.Argument(help='Records export: "CSV (raw data)" or "CSV (labels)".')],
    dictionary: Annotated[Path, typer.Option("--dictionary", help="The project's data dictionary (CSV).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle folder to write (created if needed).")],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="Mapping of fields and events to the bundle (TOML). Without it a draft is written to "
            "OUT/redcap_mapping.toml for you to check (exit 2, nothing else written).",
        ),
    ] = None,
) -> None:
    """Write a study bundle from a REDCap export and its data dictionary (docs/import.md).

    The bundle (study.toml, participants.csv, measurements.csv and the mapping used) is written only
    when `skintrial validate` accepts it; the lines printed after it are what a person should confirm.
    """
    from skintrial._io import output_lock
    from skintrial.study import import_redcap, redcap_draft, write_redcap_bundle, write_redcap_draft

    inputs = [records, dictionary]
    with output_lock(out, command=f"skintrial import redcap {records}") as _:
        if mapping is None:
            draft_path = out / "redcap_mapping.toml"
            command = shlex.join(
                [
                    "skintrial",
                    "import",
                    "redcap",
                    str(records),
                    "--dictionary",
                    str(dictionary),
                    "--out",
                    str(out),
                    "--mapping",
                    str(draft_path),
                ]
            )
            draft = redcap_draft(records, dictionary, command=command)
            path = write_redcap_draft(draft, out, inputs=inputs)
            err_console.print(
                Text(
                    f"no --mapping given: a draft mapping was written to {path}. Check it (the lines marked "
                    f"CHECK say what was guessed), then run:\n  {command}"
                )
            )
            raise typer.Exit(code=2)
        imported = import_redcap(records, dictionary, mapping)
        write_redcap_bundle(imported, out, mapping=mapping, inputs=inputs)
    out_console.print(f"study bundle: {out} (skintrial validate {shlex.quote(str(out))} accepts it)")
    out_console.print("please confirm:")
    for line in imported.confirm:
        out_console.print(Text(f"  - {line}"))
