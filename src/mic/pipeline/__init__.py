"""The pipeline's jobs as package functions; workflow/scripts/ only translate Snakemake's object into their calls."""
