"""The molecular layer: qPCR, expression, serum panels, gene sets, enrichment and the mechanism view."""

from skintrial.omics._qpcr_io import check_columns, check_cutoff  # noqa: F401
from skintrial.omics._study_expression import ECM_COLUMNS  # noqa: F401
from skintrial.omics._study_layer import OMICS_TABLES, analyse_omics, omics_stage  # noqa: F401
from skintrial.omics.enrichment import camera, camera_from_fit, over_representation  # noqa: F401
from skintrial.omics.expression import (  # noqa: F401
    DE_COLUMNS,
    differential_expression,
    differential_expression_from_fit,
    fit_expression,
    tmm_factors,
    voom_weights,
)
from skintrial.omics.genesets import GeneSetCollection, ecm_gene_sets, read_gmt  # noqa: F401
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
    StandardCurveResult,
    aggregate_replicates,
    clean_ct,
    efficiency_table,
    genorm,
    normfinder,
    paired_relative_expression,
    read_ct,
    read_qpcr_table,
    reference_gene_stability,
    relative_expression,
    standard_curve,
)
