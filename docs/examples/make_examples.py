"""Write the examples of docs/import.md from docs/example_bundle (run from the project root):

    .venv/bin/python docs/examples/make_examples.py

european/  the example bundle as Excel saves CSV in a decimal-comma locale (";" and "0,730")
spss/      participants.sav and measurements.sav (coded arms, sexes and outcomes with value labels;
           sex 9 = not recorded, a user-defined missing value)
wide/      measurements.xlsx with one row per participant and one column per outcome x visit

The REDCap example (redcap/) is written by hand; tests/study/test_import_examples.py checks all four.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent
BUNDLE = HERE.parent / "example_bundle"


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    read = {"dtype": str, "keep_default_na": False}
    return pd.read_csv(BUNDLE / "participants.csv", **read), pd.read_csv(BUNDLE / "measurements.csv", **read)


def european(out: Path) -> None:
    out.mkdir(exist_ok=True)
    shutil.copy(BUNDLE / "study.toml", out / "study.toml")
    for name, frame in zip(("participants", "measurements"), _tables(), strict=True):
        frame = frame.apply(lambda s: s.str.replace(".", ",", regex=False))
        frame.to_csv(out / f"{name}.csv", sep=";", index=False, lineterminator="\n")


def spss(out: Path) -> None:
    out.mkdir(exist_ok=True)
    shutil.copy(BUNDLE / "study.toml", out / "study.toml")
    parts, meas = _tables()
    arms = {"CON": 0.0, "AT": 1.0, "RT": 2.0}
    sexes = {"F": 1.0, "M": 2.0}
    sex = parts["sex"].map(sexes)
    sex.iloc[-1] = 9.0  # not recorded: a user-defined missing value, an empty cell once read
    p = parts.assign(arm=parts["arm"].map(arms), age=pd.to_numeric(parts["age"]).astype(float), sex=sex)
    pyreadstat.write_sav(
        p,
        out / "participants.sav",
        column_labels={"arm": "Randomised group", "age": "Age (years)"},
        variable_value_labels={
            "arm": {v: k for k, v in arms.items()},
            "sex": {v: k for k, v in sexes.items()},
        },
        missing_ranges={"sex": [9.0]},
    )
    outcomes = {"dermal_thickness": 1.0, "r2": 2.0}
    m = meas.assign(
        outcome=meas["outcome"].map(outcomes),
        value=pd.to_numeric(meas["value"]),
        replicate=pd.to_numeric(meas["replicate"]).astype(float),
    )
    pyreadstat.write_sav(
        m, out / "measurements.sav", variable_value_labels={"outcome": {v: k for k, v in outcomes.items()}}
    )


def wide(out: Path) -> None:
    out.mkdir(exist_ok=True)
    parts, meas = _tables()
    parts.to_csv(out / "participants.csv", index=False, lineterminator="\n")
    meas = meas.assign(value=pd.to_numeric(meas["value"]))
    per_visit = (
        meas.groupby(["participant_id", "outcome", "visit"], sort=False)["value"].median().reset_index()
    )
    per_visit["column"] = per_visit["outcome"] + "_" + per_visit["visit"]
    sheet = per_visit.pivot(index="participant_id", columns="column", values="value").reset_index()
    sheet.columns.name = None
    sheet.insert(1, "initials", ["AB", "CD", "EF", "GH", "IJ", "KL", "MN", "OP", "QR"][: len(sheet)])
    columns = [
        "participant_id",
        "initials",
        "dermal_thickness_week0",
        "dermal_thickness_week16",
        "r2_week0",
        "r2_week16",
    ]
    sheet[columns].to_excel(out / "measurements.xlsx", index=False, sheet_name="skin")
    toml = (BUNDLE / "study.toml").read_text()
    toml = toml.replace('replicate_rule = "median"\n', "")  # the sheet holds one value per visit
    toml += (
        "\n# The measurements are a wide sheet: one row per participant, one column per outcome x visit.\n"
        "[measurements]\n"
        'layout = "wide"\n'
        'sheet = "skin"                  # the workbook sheet (default: the first)\n'
        'columns = "{outcome}_{visit}"   # the value columns: r2_week0, dermal_thickness_week16, ...\n'
        'ignore_columns = ["initials"]   # neither a key nor a value\n'
    )
    (out / "study.toml").write_text(toml)


if __name__ == "__main__":
    european(HERE / "european")
    spss(HERE / "spss")
    wide(HERE / "wide")
