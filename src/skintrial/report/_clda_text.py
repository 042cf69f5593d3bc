"""The cLDA's pre-specified choices in words, for the methods paragraph and the cLDA section."""

from __future__ import annotations

from typing import cast

from skintrial.pipeline import TrialResults

__all__ = ["clda_choices"]

_STRUCTURE_WORDS = {
    "us": "unstructured covariance",
    "cs": "compound symmetry",
    "csh": "heterogeneous compound symmetry",
    "ar1": "AR(1) covariance",
    "ar1h": "heterogeneous AR(1) covariance",
    "toep": "Toeplitz covariance",
    "toeph": "heterogeneous Toeplitz covariance",
}
_DF_WORDS = {
    "kenward_roger": "Kenward–Roger standard errors and degrees of freedom",
    "kenward_roger_linear": "Kenward–Roger (first-order) standard errors and degrees of freedom",
    "satterthwaite": "Satterthwaite degrees of freedom",
    "between_within": "between-within degrees of freedom",
    "residual": "residual degrees of freedom (observations − parameters)",
}


def clda_choices(res: TrialResults) -> str:
    """The cLDA's pre-specified choices as the run recorded them ([analysis.clda]): REML, the covariance
    structure and its fallback (and which outcomes used it), the df method, the vcov, covariate × visit
    terms."""
    st = res.settings("clda")
    cov = str(st.get("covariance", "us"))
    words = [f"REML, {_STRUCTURE_WORDS.get(cov, cov)}"]
    fallback = [str(f) for f in cast("list", st.get("fallback", []))]
    if fallback:
        words[0] += " (pre-specified fallback: " + ", then ".join(
            _STRUCTURE_WORDS.get(f, f) for f in fallback
        )
        t = res.get("clda")
        used = t[t["covariance"] != cov] if t is not None and "covariance" in t.columns else None
        if used is not None and len(used):
            per = used.drop_duplicates("outcome").groupby("covariance")["outcome"].apply(list)
            words[0] += "; used for " + "; ".join(
                f"{', '.join(outs)} ({_STRUCTURE_WORDS.get(c, c)})" for c, outs in per.items()
            )
        else:
            words[0] += ", not needed"
        words[0] += ")"
    df = str(st.get("df_method", "residual"))
    words.append(_DF_WORDS.get(df, df))
    if st.get("vcov") == "empirical":
        words.append("empirical (sandwich) standard errors")
    vc = cast("list", st.get("visit_covariates", []))
    if vc:
        words.append("covariate × visit terms for " + ", ".join(map(str, vc)))
    return "; ".join(words)
