"""The methods paragraph states the molecular analyses from the settings actually used (docs/panels.md,
docs/qpcr.md): serum handling, the mechanism view and the qPCR settings change with study.toml."""

from __future__ import annotations

from html import unescape

from skintrial.pipeline import analyse
from skintrial.report import render_report
from skintrial.report._section_omics import methods_text
from skintrial.study import load_study


def _text(bundle) -> str:
    res = analyse(load_study(bundle))
    html = render_report(res)
    text = methods_text(res)
    assert text and text in unescape(html)  # the sentences are in the report's methods paragraph
    return text


def test_methods_paragraph_states_the_default_omics_settings(small_bundle):
    text = _text(small_bundle)
    assert "The metabolites panel was normalised by probabilistic quotient normalisation" in text
    assert "replaced by LOD/√2 (Hornung & Reed 1990)" in text
    assert "more than 50% of their values below the LOD were not tested" in text
    assert (
        "Values were log2-transformed" in text
        and "analysed by ANCOVA of its week16 value on its week0 value" in text
    )
    assert "Benjamini–Hochberg adjustment across the analytes of each panel" in text
    assert "by Spearman's ρ and Pearson's r, both unadjusted and adjusted for arm" in text
    assert "Benjamini–Hochberg over the whole factor × outcome grid" in text
    assert "Ct above 35 cycles were excluded" in text and "combined by their mean" in text
    assert "mean Ct of GAPDH and ACTB" in text and "2^−ΔΔCt (Livak & Schmittgen 2001)" in text
    assert "paired t test" in text and "Welch's unequal-variance t test" in text


def test_methods_paragraph_follows_changed_settings(small_bundle):
    toml = small_bundle / "study.toml"
    text = toml.read_text()
    for old, new in [
        ('log = "log2"', 'log = "log10"'),
        ('below_lod = "lod_sqrt2"', 'below_lod = "lod_half"'),
        (
            "max_below_lod = 0.5\n",
            'max_below_lod = 0.3\nmechanism_methods = ["pearson"]\nmechanism_arm_adjusted = false\n',
        ),
        ('pqn = ["metabolites"]', "pqn = []"),
        (
            'method = "ddct"\n',
            'method = "pfaffl"\ntest = "student"\ncutoff = 38.0\n'
            'replicate_rule = "median"\nefficiencies = { GAPDH = 1.95, ACTB = 1.9, '
            "COL1A1 = 1.98, COL3A1 = 1.97, COL6A1 = 1.96, BGN = 1.94, DCN = 1.99, "
            "HAS2 = 1.93, ELN = 1.92, FBN1 = 1.97 }\n",
        ),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    toml.write_text(text)
    out = _text(small_bundle)
    assert "PQN" not in out
    assert (
        "replaced by LOD/2" in out and "more than 30% of their values" in out and "log10-transformed" in out
    )
    assert "by Pearson's r, without adjustment" in out
    assert "Ct above 38 cycles were excluded" in out and "combined by their median" in out
    assert "efficiency-corrected ratios (Pfaffl 2001)" in out and "GAPDH 1.95" in out
    assert "Student's t test of the changes" in out
