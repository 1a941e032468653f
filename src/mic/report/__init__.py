"""Report stage (workflow/rules/report.smk): the paper's numbers and the tables and verdicts set beside them.

The notebook imports this package as its one entry point; the names below are defined in the modules
named beside them (paper, tables, verdicts, figures) and in mic.evidence (collect, intervals, selection).
"""

from mic.evidence.collect import TABLE_FILES, read_table, read_tables, stack_tables  # noqa: F401
from mic.evidence.intervals import Interval, t_interval, wilson_interval  # noqa: F401
from mic.evidence.selection import (  # noqa: F401
    Choice,
    choices,
    choose_models,
    final_iterations,
    mic_interval,
    mic_means,
    overall_grid,
    with_validation,
)
from mic.evidence.verdicts import EXTENDED as EXTENDED_CLAIM  # noqa: F401
from mic.layout import ALL  # noqa: F401
from mic.report.paper import (  # noqa: F401
    FIGURE7,
    display_name,
    in_paper_order,
    load_paper,
    paper_frame,
    paper_glm,
    paper_grid,
    paper_iterations,
    paper_names,
    paper_notes,
    paper_runs,
    table_title,
)
from mic.report.tables import *  # noqa: F401,F403
from mic.report.verdicts import verdict_markdown, verdict_summary, verdicts  # noqa: F401
