"""A noise-grid table of the characters' 20 classes, rendered as the report rule renders it and printed to PDF
by headless Chromium, keeps every class column."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from conftest import REPO
from mic.report import accuracy, compare, paper

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
PDFTOTEXT = shutil.which("pdftotext")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it with apt-get)"),
    pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext is not installed (poppler-utils; .ci/run installs it)"),
]

# What the report notebook does with every table: its print style once, then each block of a wide table.
SHOW = """
import pandas as pd
from IPython.display import HTML, display

from mic.report import printing

display(HTML(printing.PRINT_STYLE))
for block in printing.styled_blocks(pd.read_pickle({path!r})):
    display(block)
"""


def noise_grid(classes: list[str]) -> pd.DataFrame:
    """A table shaped like accuracy.noise_grid_table's: 3 x 3 noise settings x (paper, ours, ± 95 %, difference)."""
    noise = [["0", "0.1", "0.2"], ["0", "0.0001", "0.0002"]]
    index = pd.MultiIndex.from_product(noise, names=accuracy.NOISE_INDEX)
    columns = ["overall", *classes]
    rng = np.random.default_rng(0)
    paper_grid, ours, spread = (pd.DataFrame(rng.random((9, len(columns))), index, columns) for _ in range(3))
    return compare.side_by_side(paper_grid, ours, axis="rows", spread=spread / 10)


def rendered_report(frame: pd.DataFrame, folder: Path) -> Path:
    """The report's HTML as the report rule makes it: an executed notebook, then `nbconvert --to html --no-input`."""
    frame.to_pickle(folder / "table.pkl")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SHOW.format(path=str(folder / "table.pkl")))])
    NotebookClient(notebook, kernel_name="python3", timeout=300).execute()
    nbformat.write(notebook, folder / "report.ipynb")
    subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", "--no-input", str(folder / "report.ipynb")]
        + ["--output-dir", str(folder), "--output", "report.html"],
        check=True,
        capture_output=True,
    )
    return folder / "report.html"


def printed_words(html: Path, folder: Path) -> set[str]:
    """The words of the PDF that headless Chromium prints from `html`."""
    pdf = folder / "report.pdf"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"]
        + [f"--user-data-dir={folder / 'chromium'}", f"--print-to-pdf={pdf}", html.as_uri()],
        check=True,
        capture_output=True,
        timeout=240,
    )
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return set(text.split())


def test_printed_noise_grid_keeps_every_class_column(tmp_path: Path) -> None:
    classes = paper.load_paper(REPO / "config/paper_results.yaml")["classes"]["characters"]
    assert len(classes) == 20
    words = printed_words(rendered_report(noise_grid(classes), tmp_path), tmp_path)
    assert classes[-1] in words, f"the last class column ({classes[-1]!r}) is cut off the printed page"
    assert not [c for c in ["overall", *classes] if c not in words]
