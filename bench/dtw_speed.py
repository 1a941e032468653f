"""DTW speed: the 1-NN DTW baseline of one character replicate, mic.dtw (C) against tslearn, each in a fresh process.

The work is what `nearest_prototype` does for characters: the DTW distance of every test sequence (572, T=205,
2 channels) to each of 80 prototypes (4 per class). Each side runs in its own Python process and is timed from
the process's start to the distances, so tslearn's import (~7 s: it imports torch) and its numba compilation on
the first call (~12 s) count, as they do in every pipeline job. The distances must agree bit for bit.
Real trajectories when the data mirror is present (else random walks).

Last line: `ratio: <tslearn seconds / mic.dtw seconds>`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import DATA  # noqa: E402

TIMED = """
import time; start = time.perf_counter()
import sys, numpy as np
archive = np.load(sys.argv[1])
if sys.argv[2] == "tslearn":
    from tslearn.metrics import cdist_dtw
    distances = cdist_dtw(archive["targets"], archive["prototypes"], be="numpy")
else:
    from mic.dtw import cdist_dtw
    distances = cdist_dtw(archive["targets"], archive["prototypes"])
seconds = time.perf_counter() - start
np.save(sys.argv[3], distances)
print(seconds)
"""


def workload(targets: int, prototypes: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """[targets, T, 2] and [prototypes, T, 2] series: real character trajectories where the mirror has them."""
    rng = np.random.default_rng(0)
    if DATA.exists():
        from mic.data.datasets import load_character_trajectories
        from mic.data.preprocess import PreprocessSettings, preprocess

        settings = PreprocessSettings(cumulative_sum=(0, 1), keep_channels=(0, 1), standardize=True)
        sequences = preprocess(load_character_trajectories(DATA), settings).sequences
        rows = rng.choice(len(sequences), targets + prototypes, replace=False)
        series = sequences[rows].astype(np.float64)
    else:
        series = rng.normal(size=(targets + prototypes, steps, 2)).cumsum(axis=1)
    return series[:targets], series[targets:]


def run(side: str, inputs: Path, out: Path) -> float:
    """Seconds from a fresh process's start to the distances."""
    done = subprocess.run([sys.executable, "-c", TIMED, str(inputs), side, str(out)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{side} failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Time both sides, check they agree, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, default=572)
    parser.add_argument("--prototypes", type=int, default=80)
    parser.add_argument("--steps", type=int, default=205, help="length of the random walks without the mirror")
    args = parser.parse_args()
    targets, prototypes = workload(args.targets, args.prototypes, args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "series.npz"
        np.savez(inputs, targets=targets, prototypes=prototypes)
        seconds = {side: run(side, inputs, Path(tmp) / f"{side}.npy") for side in ("mic", "tslearn")}
        same = np.array_equal(np.load(Path(tmp) / "mic.npy"), np.load(Path(tmp) / "tslearn.npy"))
    print(f"{len(targets)} x {len(prototypes)} DTW distances, T={targets.shape[1]}, from a fresh process's start:")
    print(f"mic.dtw (C kernel): {seconds['mic']:.2f} s")
    print(f"tslearn cdist_dtw (import and numba compilation included): {seconds['tslearn']:.2f} s")
    print(f"distances bit for bit equal: {same}")
    if not same:
        sys.exit("mic.dtw and tslearn disagree")
    print(f"ratio: {seconds['tslearn'] / seconds['mic']:.2f}")


if __name__ == "__main__":
    main()
