"""Names declared once: the study.toml schema's Literals are the tuples other modules use, not copies of them."""

from __future__ import annotations

from typing import get_args


def test_cutometer_column_keys_are_the_schemas_own():
    from skintrial.instruments import _cutometer_read as reader
    from skintrial.study import _schema

    assert (
        reader.COLUMN_KEYS is _schema.CUTOMETER_COLUMN_KEYS
    )  # imported, not a second tuple kept equal by a test
    assert reader._CANONICAL + reader._READ_KEYS == _schema.CUTOMETER_COLUMN_KEYS
    key, _ = get_args(_schema.RawSpec.model_fields["cutometer_columns"].annotation)
    assert get_args(key) == _schema.CUTOMETER_COLUMN_KEYS


def test_method_names_are_the_methods_literal():
    from skintrial.study._schema import METHOD_NAMES, AnalysisSpec

    (item,) = get_args(AnalysisSpec.model_fields["methods"].annotation)
    assert get_args(item) is METHOD_NAMES
