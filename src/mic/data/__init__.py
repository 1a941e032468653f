"""Data stage (workflow/rules/data.smk): raw files, readers, preprocessing, prototypes."""
