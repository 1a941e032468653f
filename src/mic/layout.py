"""Where every result lives, and the names shared by the workflow, the package, the report and the tests.

One home for each path pattern and name list: the .smk files, the rule scripts, the notebook and the
tests import them from here.
"""

from __future__ import annotations

ALL = "all"  # the class label of overall rows in accuracy tables


def noise_label(value: float | str) -> str:
    """A noise level as written in result paths and tables: 0, 0.1, 0.0001."""
    return f"{float(value):g}"
