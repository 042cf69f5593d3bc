"""REDCap's own export files read as REDCap documents them: the data dictionary and the records.

* The **data dictionary** (Project Setup > Data Dictionary > Download, or the API's metadata export):
  one row per field with the columns "Variable / Field Name", "Form Name", "Field Type", "Field
  Label", "Choices, Calculations, OR Slider Labels" (``1, AT | 2, RT``), "Field Note", "Text
  Validation Type OR Show Slider Number", "Text Validation Min" and "Max" (the API's snake_case
  names ``field_name``, ``form_name`` … are read too). Descriptive fields hold no data.
* The **records**, "CSV (raw data)" or "CSV (labels)" from Data Exports or a report, any of REDCap's
  delimiters (comma, semicolon, tab, pipe, caret). The record-id field comes first; a longitudinal
  project adds ``redcap_event_name``; repeating instruments and events add
  ``redcap_repeat_instrument`` and ``redcap_repeat_instance``; data access groups add
  ``redcap_data_access_group``; each form has a ``<form>_complete`` status (0 Incomplete,
  1 Unverified, 2 Complete); a checkbox field is one column per choice, ``<field>___<code>``, holding
  1/0. A labels export writes each column's field label as its header (a checkbox's as ``Label
  (choice=Choice label)``, a status as ``Complete?``) and choice labels as values (``Checked`` /
  ``Unchecked`` for checkboxes); :func:`read_records` turns both into the raw form: field names as
  columns, choice codes as values. Blank cells are empty (``None``).

Problems name the file, its spreadsheet row (header = row 1), the REDCap field, and the record id and
event, the words a data manager uses.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from skintrial.errors import MAX_SHOWN, InputError, Problem, more_like_this
from skintrial.study._csvformat import extra_fields_problem
from skintrial.study._readers import ROW_COLUMN, not_utf8

__all__ = [
    "RedcapField",
    "RedcapDictionary",
    "RedcapRecords",
    "read_dictionary",
    "read_records",
    "parse_choices",
    "parse_number",
    "EVENT",
    "REPEAT_INSTRUMENT",
    "REPEAT_INSTANCE",
    "DAG",
    "NUMERIC_TYPES",
]

EVENT = "redcap_event_name"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
DAG = "redcap_data_access_group"
_SPECIAL = {
    EVENT: "Event Name",
    REPEAT_INSTRUMENT: "Repeat Instrument",
    REPEAT_INSTANCE: "Repeat Instance",
    DAG: "Data Access Group",
    "redcap_survey_identifier": "Survey Identifier",
}
_COMPLETE = {"Incomplete": "0", "Unverified": "1", "Complete": "2"}
_CHECKED = {"Checked": "1", "Unchecked": "0"}
CHOICE_TYPES = ("dropdown", "radio", "checkbox", "yesno", "truefalse")
NUMERIC_TYPES = ("calc", "slider")
"""Field types whose values are numbers whatever their validation (text fields need a number validation)."""
_NUMBER_VALIDATIONS = re.compile(r"^(number|integer|float|int)(_\ddp)?(_comma_decimal)?$")

_DICTIONARY_COLUMNS = {
    "name": ("variable / field name", "field_name"),
    "form": ("form name", "form_name"),
    "type": ("field type", "field_type"),
    "label": ("field label", "field_label"),
    "choices": ("choices, calculations, or slider labels", "select_choices_or_calculations"),
    "note": ("field note", "field_note"),
    "validation": (
        "text validation type or show slider number",
        "text_validation_type_or_show_slider_number",
    ),
    "vmin": ("text validation min", "text_validation_min"),
    "vmax": ("text validation max", "text_validation_max"),
}
_REQUIRED = ("name", "form", "type", "label")


@dataclass(frozen=True)
class RedcapField:
    """One field of the data dictionary."""

    name: str
    form: str
    type: str
    label: str
    """The field label with its HTML tags removed (what a labels export writes as the header)."""
    choices: dict[str, str] = field(default_factory=dict)
    """Choice code → label (dropdown, radio, checkbox; yesno 1/0 Yes/No; truefalse 1/0 True/False)."""
    note: str = ""
    validation: str = ""
    min: float | None = None
    max: float | None = None
    row: int = 0
    """The field's row in the dictionary file."""

    @property
    def numeric(self) -> bool:
        """Whether the field holds numbers: calc and slider fields, and text fields validated as numbers."""
        return self.type in NUMERIC_TYPES or (
            self.type == "text" and bool(_NUMBER_VALIDATIONS.match(self.validation))
        )

    @property
    def choice_field(self) -> bool:
        return self.type in CHOICE_TYPES

    def describe(self) -> str:
        """The field in the words of REDCap's Online Designer: type, label and choices."""
        text = f"{self.type} '{self.label}'" if self.label else self.type
        if self.choices and self.type in ("dropdown", "radio", "checkbox"):
            text += ": " + " | ".join(f"{c}, {lab}" for c, lab in self.choices.items())
        return text


@dataclass(frozen=True)
class RedcapDictionary:
    """A project's data dictionary: its fields in dictionary order (the first is the record id)."""

    fields: dict[str, RedcapField]
    file: str

    @property
    def record_id(self) -> str:
        return next(iter(self.fields))

    @property
    def forms(self) -> list[str]:
        return list(dict.fromkeys(f.form for f in self.fields.values()))

    def form_fields(self, form: str) -> list[RedcapField]:
        return [f for f in self.fields.values() if f.form == form]

    def checkbox_column(self, column: str) -> tuple[RedcapField, str] | None:
        """The checkbox field and choice code of an export column ``<field>___<code>``."""
        name, sep, suffix = column.partition("___")
        f = self.fields.get(name)
        if not sep or f is None or f.type != "checkbox":
            return None
        want = _code_key(suffix)
        for code in f.choices:
            if _code_key(code) == want:
                return f, code
        return None

    def export_columns(self) -> list[tuple[str, str]]:
        """Every column a full raw export can hold, in export order, with its labels-export header:
        the fields of each form (a checkbox as one column per choice), then the form's status."""
        out = []
        for form in self.forms:
            for f in self.form_fields(form):
                if f.type == "descriptive":
                    continue
                if f.type == "checkbox":
                    out += [
                        (f"{f.name}___{_code_key(c)}", f"{f.label} (choice={lab})")
                        for c, lab in f.choices.items()
                    ]
                else:
                    out.append((f.name, f.label))
            out.append((f"{form}_complete", "Complete?"))
        return out


def _code_key(code: str) -> str:
    """A checkbox code as its export column writes it (REDCap lower-cases it and drops or replaces
    characters other than letters and digits: ``a_b`` may be written ``ab``), for matching."""
    return re.sub(r"[^0-9a-z]", "", code.lower())


_TAG = re.compile(r"<[^>]*>")


def _plain_label(text: str) -> str:
    """A field label as REDCap's labels export writes it: HTML tags removed, entities decoded, white
    space collapsed."""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def parse_choices(text: str) -> dict[str, str]:
    """``"1, AT | 2, RT"`` → ``{"1": "AT", "2": "RT"}`` (a label may itself hold commas).

    >>> parse_choices("1, Aerobic training | 2, Resistance, machines")
    {'1': 'Aerobic training', '2': 'Resistance, machines'}
    """
    out = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        code, sep, label = part.partition(",")
        out[code.strip()] = _plain_label(label) if sep else code.strip()
    return out


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def parse_number(text: str) -> float | None:
    """A REDCap number: a decimal point or, from a comma-decimal validation or an export with "comma"
    as its decimal character, a decimal comma (REDCap never writes thousands separators, so ``1,5``
    is 1.5). ``None`` when the text is not a number.

    >>> parse_number("1,5"), parse_number("-2.25"), parse_number("1.2.3")
    (1.5, -2.25, None)
    """
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    return float(text.replace(",", "."))


def _fix_dictionary() -> str:
    return (
        "download the data dictionary again (Project Setup > Data Dictionary > Download the current Data "
        "Dictionary) and pass that CSV file as --dictionary"
    )


def _read_csv(path: Path, *, sep: str = ",", what: str) -> pd.DataFrame:
    """A REDCap CSV as text cells (``None`` for blank) with the spreadsheet row of each record."""
    file = str(path)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=file, fix="check the path")) from None
    except UnicodeDecodeError:
        raise InputError(
            not_utf8(path, fix=f"export the {what} from REDCap again (REDCap writes UTF-8)")
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(
            Problem(f"the file is empty: not a REDCap {what}", file=file, fix="export it again")
        ) from None
    except pd.errors.ParserError as exc:
        raise InputError(
            Problem(
                f"cannot be read as a CSV ({str(exc).replace('Error tokenizing data. C error: ', '').strip()})",
                file=file,
                fix=f"download the {what} from REDCap again",
            )
        ) from None
    if not isinstance(frame.index, pd.RangeIndex):  # rows longer than the header: pandas shifted them
        raise InputError(extra_fields_problem(path, sep, len(frame.columns)))
    frame.columns = [str(c).strip() for c in frame.columns]
    out = frame.apply(lambda s: s.str.strip().replace("", None)).astype(object)
    out = out.where(out.notna(), None)
    out[ROW_COLUMN] = range(2, len(out) + 2)
    blank = out.drop(columns=[ROW_COLUMN]).isna().all(axis=1)
    return out.loc[~blank].reset_index(drop=True)


def _dictionary_problem(
    message: str, file: str, row: int | None = None, column: str | None = None, value=None
):
    return Problem(message, file=file, row=row, column=column, value=value, fix=_fix_dictionary())


def _as_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def read_dictionary(path: Path | str) -> RedcapDictionary:
    """Read a REDCap data dictionary (CSV as REDCap downloads it, or the API's metadata export).

    Raises :class:`InputError` naming the file, row and column when it is not a data dictionary.
    """
    path = Path(path)
    file = str(path)
    frame = _read_csv(path, what="data dictionary")
    lookup = {c.strip().lower(): c for c in frame.columns if c != ROW_COLUMN}
    columns = {}
    for key, names in _DICTIONARY_COLUMNS.items():
        found = next((lookup[n] for n in names if n in lookup), None)
        if found is not None:
            columns[key] = found
    missing = [_DICTIONARY_COLUMNS[k][0] for k in _REQUIRED if k not in columns]
    if missing:
        raise InputError(
            _dictionary_problem(
                f"not a REDCap data dictionary: the column(s) {missing} are missing "
                f"(found: {[c for c in frame.columns if c != ROW_COLUMN][:8]})",
                file,
                row=1,
            )
        )
    fields: dict[str, RedcapField] = {}
    problems = []
    for rec in frame.to_dict("records"):
        row = int(rec[ROW_COLUMN])
        get = {k: rec[c] for k, c in columns.items()}
        name, ftype = get.get("name"), (get.get("type") or "").lower()
        if name is None:
            problems.append(_dictionary_problem("empty field name", file, row, columns["name"]))
            continue
        if name in fields:
            problems.append(
                _dictionary_problem(
                    f"field '{name}' is listed twice (first at row {fields[name].row})",
                    file,
                    row,
                    columns["name"],
                )
            )
            continue
        if ftype == "yesno":
            choices = {"1": "Yes", "0": "No"}
        elif ftype == "truefalse":
            choices = {"1": "True", "0": "False"}
        elif ftype in ("dropdown", "radio", "checkbox"):
            choices = parse_choices(get.get("choices") or "")
        else:
            choices = {}
        fields[name] = RedcapField(
            name=name,
            form=get.get("form") or "",
            type=ftype,
            label=_plain_label(get.get("label") or ""),
            choices=choices,
            note=_plain_label(get.get("note") or ""),
            validation=(get.get("validation") or "").lower(),
            min=_as_float(get.get("vmin")),
            max=_as_float(get.get("vmax")),
            row=row,
        )
    InputError.collect(problems)
    if not fields:
        raise InputError(_dictionary_problem("the data dictionary lists no fields", file, row=2))
    return RedcapDictionary(fields=fields, file=file)


# --- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedcapRecords:
    """A records export in raw form: columns are field names (checkboxes ``<field>___<code>``),
    choice fields hold codes, statuses 0/1/2, blank cells ``None``; ``ROW_COLUMN`` is each record
    row's spreadsheet row in the export file."""

    frame: pd.DataFrame
    file: str
    labels: bool
    """Whether the file was a labels export ("CSV (labels)")."""
    sep: str
    unknown_columns: tuple[str, ...] = ()
    """Columns of the file that the dictionary does not know (left out; the import lists them)."""

    @property
    def longitudinal(self) -> bool:
        return EVENT in self.frame.columns

    @property
    def events(self) -> list[str]:
        """Events in the order REDCap exports them (each record's rows are in event order)."""
        if not self.longitudinal:
            return []
        return _merged_order(self.frame.groupby(self.frame.columns[0], sort=False)[EVENT])


def _merged_order(groups: Iterable) -> list[str]:
    """One order of the events that keeps each record's order (a record skips events it has no data
    for): each event after the events that precede it in some record, ties by first appearance."""
    seen: dict[str, int] = {}
    after: dict[str, set[str]] = {}
    for _, events in groups:
        prev: list[str] = []
        for e in events.dropna():
            seen.setdefault(e, len(seen))
            after.setdefault(e, set()).update(p for p in prev if p != e)
            if e not in prev:
                prev.append(e)
    order: list[str] = []
    left = sorted(seen, key=seen.__getitem__)
    while left:
        ready = [e for e in left if not (after.get(e, set()) - set(order))] or left[
            :1
        ]  # a cycle: keep file order
        order.append(ready[0])
        left.remove(ready[0])
    return order


def _raw_header(path: Path, sep: str) -> list[str]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        try:
            return [c.strip() for c in next(csv.reader(fh, delimiter=sep))]
        except (StopIteration, csv.Error):
            return []


def _sniff_separator(path: Path, first_names: Iterable[str]) -> str:
    """REDCap's delimiter (comma, semicolon, tab, pipe or caret): the character after the first
    header cell, which is the record-id field (its name, or its label in a labels export)."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline().rstrip("\r\n")
    for name in first_names:
        for quoted in (name, f'"{name}"'):
            if header.startswith(quoted) and len(header) > len(quoted) and header[len(quoted)] in ",;\t|^":
                return header[len(quoted)]
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t|^").delimiter
    except csv.Error:
        return ","


def _align_labels(header: list[str], d: RedcapDictionary) -> list[str]:
    """The raw name of each header cell of a labels export, in order. REDCap's own columns (Event
    Name, Repeat Instance …) are known by their labels; fields are matched in export order, so a
    report that leaves fields out, fields that share a label, and the forms' statuses (each headed
    ``Complete?``) are told apart. A cell that matches nothing keeps its text (it is listed as a column
    the dictionary does not know)."""
    special = {label.lower(): name for name, label in _SPECIAL.items()}
    expected = [(c, lab.lower()) for c, lab in d.export_columns() if c != d.record_id]
    names = [d.record_id]
    at = 0
    for cell in header[1:]:
        want = _plain_label(cell).lower()
        name = special.get(want, cell)
        if want not in special:
            for j in range(at, len(expected)):
                if expected[j][1] == want:
                    name, at = expected[j][0], j + 1
                    break
        names.append(name)
    return names


def _decode_labels(frame: pd.DataFrame, d: RedcapDictionary, file: str) -> list[Problem]:
    """Choice labels → codes, Checked/Unchecked → 1/0, statuses → 0/1/2, in place; the cells that
    match nothing are problems."""
    problems: list[Problem] = []
    for column in frame.columns:
        if column == ROW_COLUMN:
            continue
        box = d.checkbox_column(column)
        f = d.fields.get(column)
        if column.endswith("_complete") and f is None:
            table = _COMPLETE
        elif box is not None:
            table = {**_CHECKED, box[0].choices[box[1]]: "1"}
        elif f is not None and f.choice_field:
            table = {lab: code for code, lab in f.choices.items()}
        else:
            continue
        cells = frame[column]
        mapped = cells.map(lambda v, t=table: None if v is None else t.get(v, t.get(_plain_label(v))))
        bad = cells.notna() & mapped.isna()
        if box is not None:  # a labels export with exportCheckboxLabel writes the label or nothing
            mapped = mapped.where(cells.notna(), "0")
        problems += _cell_problems(
            frame,
            bad,
            column,
            file,
            f"not one of the labels of {'status' if table is _COMPLETE else 'field'} '{column}' "
            f"({', '.join(list(table)[:8])})",
            "export the records again from the same project as the data dictionary",
        )
        frame[column] = mapped.where(~bad, cells)
    return problems


def _cell_problems(
    frame: pd.DataFrame, bad: pd.Series, column: str, file: str, message: str, fix: str
) -> list[Problem]:
    """One problem per bad cell (the first :data:`MAX_SHOWN`), naming record and event."""
    sub = frame.loc[bad.fillna(False).astype(bool)]
    out = []
    first = frame.columns[0]
    for rec in sub.head(MAX_SHOWN).to_dict("records"):
        where = f"record '{rec[first]}'" + (f", event '{rec[EVENT]}'" if rec.get(EVENT) else "")
        out.append(
            Problem(
                f"{where}: {message}",
                file=file,
                row=int(rec[ROW_COLUMN]),
                column=column,
                value=rec[column],
                fix=fix,
            )
        )
    if len(sub) > len(out):
        rows = sub[ROW_COLUMN].iloc[len(out) :]
        out.append(more_like_this(out[-1], len(rows), int(rows.min()), int(rows.max())))
    return out


def read_records(path: Path | str, dictionary: RedcapDictionary) -> RedcapRecords:
    """Read a REDCap records export, raw or labels, into the raw form (:class:`RedcapRecords`).

    The export is told apart by its first header cell: the record-id field's name (raw) or its label
    (labels). Columns the dictionary does not know are left out (and listed); a record row without a
    record id, and a labels cell that is not a label of its field, are problems.
    """
    path = Path(path)
    file = str(path)
    d = dictionary
    rid = d.fields[d.record_id]
    sep = _sniff_separator(path, [rid.name, rid.label])
    frame = _read_csv(path, sep=sep, what="records export")
    header = _raw_header(path, sep)  # as written: pandas renames a repeated name ("Complete?.1")
    if len(header) + 1 == len(frame.columns):
        frame.columns = [*header, ROW_COLUMN]
    else:
        header = [c for c in frame.columns if c != ROW_COLUMN]
    fix_pair = (
        "export the records and the data dictionary from the same REDCap project (the records' first "
        f"column is the record-id field '{rid.name}', the dictionary's first field)"
    )
    if not header:
        raise InputError(Problem("the records export has no columns", file=file, row=1, fix=fix_pair))
    labels = header[0] != rid.name and _plain_label(header[0]).lower() == rid.label.lower()
    if labels:
        frame.columns = [*_align_labels(header, d), ROW_COLUMN]
    elif header[0] != rid.name:
        raise InputError(
            Problem(
                f"the first column is '{header[0]}', not the record-id field '{rid.name}' of the data dictionary",
                file=file,
                row=1,
                column=header[0],
                fix=fix_pair,
            )
        )
    known = set(d.fields) | set(_SPECIAL) | {f"{form}_complete" for form in d.forms}
    unknown = tuple(
        dict.fromkeys(
            c
            for c in frame.columns
            if c != ROW_COLUMN
            and c not in known
            and d.checkbox_column(c) is None
            and not c.endswith("_timestamp")
        )
    )
    frame = frame.drop(columns=list(unknown))
    twice = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if twice:
        raise InputError(
            Problem(f"column(s) {twice} appear twice in the header", file=file, row=1, fix=fix_pair)
        )
    problems = _decode_labels(frame, d, file) if labels else []
    empty = frame[rid.name].isna()
    problems += [
        Problem(
            "empty record id",
            file=file,
            row=int(r),
            column=rid.name,
            fix="every row of a REDCap export starts with its record id: export the records again",
        )
        for r in frame.loc[empty, ROW_COLUMN].head(MAX_SHOWN)
    ]
    InputError.collect(problems)
    return RedcapRecords(frame=frame, file=file, labels=labels, sep=sep, unknown_columns=unknown)
