"""Training speed: paper-style reference loop vs the project's trainer, and the trainer against its instruction count.

Reference: torch.nn.LSTM(4, 10) + nn.Linear(10, 2), batch 1, one random prototype per episode,
Adam(lr 0.01), MSE, as in the authors' train.py. Project: mic.training.train_generators with
its default settings (one random prototype per step, like the paper; --prototypes-per-step 4
presents all four per step), for a bank of `--bank` generators trained together (default: what one
pipeline job trains, every class of every replicate of a setting); its per-generator time is the bank's
time divided by the bank size. The project's shapes, episodes and replicates are those of the data set in
config/config.yaml (`--dataset`, default characters; mnist takes the first four training images of each
class as prototypes). Both start from the same
init (generator 0 uses the reference's seed; mic.generator.init_state(seed)
reproduces `torch.manual_seed(seed); nn.LSTM(4, H); nn.Linear(H, O)`) and see the same number of episodes.

Prototypes: the first four training samples of each class from the character mirror
(cumulative sum of velocities, padded to 205 with the last point, x/y standardised over the
whole file), or smooth synthetic curves with --synthetic.

The project's time is also set against the arithmetic it has to do (bench/roofline.py's count of the
kernel's operations, padded lanes not counted) at this core's measured multiply-add peak: the share of that
instruction count the kernel reaches.

Last line: `ratio: <reference seconds / project seconds per generator>`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mic import native
from mic.data.datasets import read_idx
from mic.model import training

sys.path.insert(0, str(Path(__file__).resolve().parent))
import roofline  # noqa: E402

MIRROR = Path(os.environ.get("MIC_DATA_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "data"))
DATA = MIRROR / "character_trajectories" / "mixout_mirror_labeled.mat"
MNIST_IMAGES = MIRROR / "mnist" / "train-images-idx3-ubyte.gz"
MNIST_LABELS = MIRROR / "mnist" / "train-labels-idx1-ubyte.gz"
CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
STEPS, HIDDEN, OUT = 205, 10, 2  # the reference loop's character generator
DATASETS = ("characters", "mnist")  # the data sets whose prototypes this benchmark can read


def configured_bank(dataset: str) -> tuple[int, int, int, int, int, int]:
    """(classes, steps, hidden cells, outputs, episodes, replicates) of a data set of config/config.yaml."""
    config = roofline.load_config(CONFIG)
    block = config["datasets"][dataset]
    sizes, generator = roofline.known_sizes(dataset, block), block["generator"]
    return (
        sizes.classes,
        sizes.steps,
        generator["hidden_size"],
        sizes.channels,
        generator["episodes"],
        config["replicates"],
    )


def character_prototypes(path: Path, classes: int) -> torch.Tensor:
    """[classes, 4, 205, 2]: first four samples of each class, preprocessed as in paper 3.1.1."""
    import scipy.io

    mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    labels = np.asarray(mat["consts"].charlabels, dtype=int)
    seqs = []
    for raw in mat["mixout"]:
        xy = np.cumsum(np.asarray(raw, dtype=np.float64)[:2].T, axis=0)
        pad = np.repeat(xy[-1:], STEPS - len(xy), axis=0)
        seqs.append(np.concatenate([xy, pad]))
    data = np.stack(seqs)
    data = (data - data.mean((0, 1))) / data.std((0, 1))
    protos = [data[labels == c][:4] for c in range(1, classes + 1)]
    return torch.tensor(np.stack(protos), dtype=torch.float32)


def mnist_prototypes(classes: int) -> torch.Tensor:
    """[classes, 4, 28, 28]: the first four training images of each digit, rows as steps, standardised."""
    images, labels = read_idx(MNIST_IMAGES).astype(np.float32) / 255, read_idx(MNIST_LABELS)
    protos = np.stack([images[labels == c][:4] for c in range(classes)])
    return torch.tensor((protos - images.mean()) / images.std())


def synthetic_prototypes(classes: int) -> torch.Tensor:
    """[classes, 4, 205, 2] smooth closed-ish curves, different per class and prototype."""
    t = torch.linspace(0, 2 * math.pi, STEPS)
    out = torch.empty(classes, 4, STEPS, OUT)
    for c in range(classes):
        for p in range(4):
            out[c, p, :, 0] = torch.sin((1 + 0.1 * c) * t + p)
            out[c, p, :, 1] = torch.cos((1 + 0.05 * p) * t) * (1 + 0.1 * c)
    return out


def reference_train(protos: torch.Tensor, episodes: int, seed: int) -> tuple[float, float, float]:
    """Paper-style loop; returns (seconds, final-weights MSE, best-weights MSE) on the 4 prototypes."""
    torch.manual_seed(seed)
    lstm, lin = torch.nn.LSTM(4, HIDDEN), torch.nn.Linear(HIDDEN, OUT)
    params = list(lstm.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=0.01)
    rng = random.Random(seed)
    inputs = torch.zeros(4, STEPS, 1, 4)
    inputs[torch.arange(4), 0, 0, torch.arange(4)] = 1.0
    best, best_state = math.inf, None
    start = time.perf_counter()
    for _ in range(episodes):
        k = rng.randrange(4)
        out, _ = lstm(inputs[k])
        loss = torch.nn.functional.mse_loss(lin(out)[:, 0], protos[k])
        opt.zero_grad()
        loss.backward()
        if loss.item() < best:
            best, best_state = loss.item(), [p.detach().clone() for p in params]
        opt.step()
    seconds = time.perf_counter() - start

    def mse() -> float:
        with torch.no_grad():
            out, _ = lstm(inputs.squeeze(2).transpose(0, 1))
            return torch.nn.functional.mse_loss(lin(out).transpose(0, 1), protos).item()

    final = mse()
    with torch.no_grad():
        for p, b in zip(params, best_state):
            p.copy_(b)
    return seconds, final, mse()


def main() -> None:
    """Run both trainers and print times, losses and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default="characters", help="the project's generators")
    parser.add_argument("--episodes", type=int, default=None, help="default: the data set's in the config")
    parser.add_argument("--bank", type=int, default=None, help="generators trained together (default: one job's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true", help="synthetic curves instead of real data")
    parser.add_argument("--schedule", default=None, help="override lr_schedule (constant|cosine)")
    parser.add_argument("--prototypes-per-step", type=int, default=None, help="override prototypes_per_step")
    parser.add_argument("--variant", choices=sorted(native.VARIANTS), default=None, help="C kernel build variant")
    args = parser.parse_args()
    if args.variant:
        os.environ["MIC_NATIVE_VARIANT"] = args.variant
    torch.set_num_threads(1)

    classes, steps, hidden, outputs, episodes, replicates = configured_bank(args.dataset)
    episodes, bank = args.episodes or episodes, args.bank or replicates * classes
    real = not args.synthetic and DATA.exists()
    characters = character_prototypes(DATA, classes) if real else synthetic_prototypes(classes)
    print(
        f"reference prototypes: {'character mirror, first 4 per class' if real else 'synthetic'}; "
        f"T={STEPS}, H={HIDDEN}, O={OUT}; episodes={episodes}; torch threads=1"
    )
    ref_s, ref_final, ref_best = reference_train(characters[0], episodes, args.seed)
    print(
        f"reference (nn.LSTM, batch 1, 1 random prototype/episode): {ref_s:.1f} s, "
        f"{ref_s / episodes * 1e3:.3f} ms/episode, train MSE final {ref_final:.4f} / best-kept {ref_best:.4f}"
    )

    if args.dataset == "mnist":
        real = not args.synthetic and MNIST_IMAGES.exists()
        own = mnist_prototypes(classes) if real else torch.randn(classes, 4, steps, outputs)
    else:
        own = characters
    protos = own.repeat(-(-bank // classes), 1, 1, 1)[:bank]  # the replicates' generators see the same shapes
    settings = training.TrainSettings(hidden_size=hidden, episodes=episodes)
    if args.schedule:
        settings = dataclasses.replace(settings, lr_schedule=args.schedule)
    if args.prototypes_per_step:
        settings = dataclasses.replace(settings, prototypes_per_step=args.prototypes_per_step)
    seeds = list(range(args.seed, args.seed + bank))
    warm_up = training.TrainSettings(hidden_size=hidden, episodes=8)
    training.train_generators(protos[:1, :, :8], warm_up, [0])  # compile (or load) the kernels
    cpu_start = time.thread_time()
    result = training.train_generators(protos, settings, seeds)
    cpu = time.thread_time() - cpu_start  # this thread's time: other processes on the core do not count
    per_gen = result.seconds / bank
    lib = training._kernel(native.variant())
    print(
        f"project ({args.dataset}: T={steps}, H={hidden}, O={outputs}; {native.variant()} build, "
        f"{native.lanes(lib)} lanes, {native.isa(lib)}; bank of {bank} generators trained together, "
        f"{settings.prototypes_per_step} prototype(s)/step, "
        f"{settings.steps} steps, lr schedule {settings.lr_schedule}): {result.seconds:.1f} s for the bank, "
        f"{per_gen:.2f} s per generator (bank time / {bank})"
    )
    print(
        f"project train MSE of the kept weights: generator 0 {result.clean_loss[0]:.4f}; "
        f"bank mean {result.clean_loss.mean():.4f}, median {result.clean_loss.median():.4f} "
        f"(min {result.clean_loss.min():.4f}, max {result.clean_loss.max():.4f})"
    )
    peak = roofline.measure_peak()
    work = bank * roofline.generator_training(hidden, outputs, steps, episodes, settings.prototypes_per_step)
    at_peak, matmul_at_peak = work.ops_flop / peak.flops, work.matmul / peak.flops
    print(
        f"instruction count at this core's peak ({peak.flops / 1e9:.1f} GFLOP/s, {peak.lanes} lanes): "
        f"{at_peak:.1f} s (matrix products alone {matmul_at_peak:.1f} s); the bank took {cpu:.1f} s of CPU time: "
        f"share of the instruction count reached: {at_peak / cpu:.0%}"
    )
    print(f"ratio: {ref_s / per_gen:.2f}")


if __name__ == "__main__":
    main()
