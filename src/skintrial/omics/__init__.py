"""omics stage."""
