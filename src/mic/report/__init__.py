"""Report stage (workflow/rules/report.smk): the paper's numbers and the tables, verdicts and figures beside them.

One module per group of tables, imported by name (notebooks/report.ipynb shows which it uses):
headline (the first screen), accuracy (Tables 1, 2, 6, 7, 8, 9), noise_glm (Tables 3, 10, 11, 12),
iterations (Tables 4, 13), baseline_tables (Table 5, nearest prototype), beyond (inversion variants),
diagnostics (training, Figure 7, confusion), verdicts, figures, printing (tables that fit a printed page);
compare and paper hold what they share.
"""
