"""Method stage (workflow/rules/mic.smk): class generators, their training, inverse classification, checkpoints."""
