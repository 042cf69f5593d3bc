"""The molecular layer: qPCR, expression, serum panels, gene sets, enrichment and the mechanism view."""

from skintrial.omics.mechanism import (  # noqa: F401
    correlate_changes,
    mechanism,
    participant_changes,
    strongest_pairs,
)
from skintrial.omics.panels import (  # noqa: F401
    PanelResult,
    PreparedPanel,
    as_panel,
    panel_analysis,
    prepare_panel,
    read_panel,
)
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
