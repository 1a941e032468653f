"""Raw data set -> results/<dataset>/data.npz (padded, standardised, split)."""

from pathlib import Path

from mic.data.datasets import load_character_trajectories, load_mnist, load_npz
from mic.data.preprocess import PreprocessSettings, preprocess
from mic.logs import log_to
from mic.settings import from_config

log = log_to(snakemake.log[0])
source = snakemake.params.source
first = snakemake.input[0]
readers = {
    "character_trajectories": lambda: load_character_trajectories(first),
    "mnist": lambda: load_mnist(Path(first).parent),
    "npz": lambda: load_npz(first, snakemake.params.allow_pickle),
}
raw = readers[source]()
settings = from_config(
    PreprocessSettings, snakemake.params.settings, f"datasets.{snakemake.wildcards.dataset}.preprocess"
)
data = preprocess(raw, settings, source=first)
log.info("%s: %s, %d train, %d test", source, data.sequences.shape, len(data.train_index), len(data.test_index))
data.save(snakemake.output[0])
