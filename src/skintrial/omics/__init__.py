"""omics stage."""
from skintrial.omics.qpcr import (  # noqa: F401
    QpcrResult,
    aggregate_replicates,
    clean_ct,
    efficiency_table,
    genorm,
    normfinder,
    paired_relative_expression,
    read_ct,
    relative_expression,
    standard_curve,
)
