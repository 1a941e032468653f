#!/usr/bin/env bash
# The prepared GPU check (run on a machine with a CUDA GPU, from the repository root): the CUDA tests, the
# kernels' batched torch engine on the GPU at the benchmarks' sizes, and one replicate of the default config
# with device: cuda. Installs nothing heavy (the project itself, --no-deps, where it is not installed yet)
# and prints its numbers within about 5 minutes; each step has its own time limit.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 MIC_DATA_MIRROR="${MIC_DATA_MIRROR:-$PWD/shared/data}"
python3 -c "import mic" 2>/dev/null || python3 -m pip install -q --no-deps -e .
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "nvidia-smi: not found"

echo "== CUDA tests"
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_device.py tests/test_baseline.py -k "cuda or gpu" || true

echo "== kernels on the GPU (torch engine), benchmark sizes"
timeout 120 python3 - <<'PY' || true
import time

import torch

from mic.model import generator as gen
from mic.model import inverse, training

device = torch.device("cuda")
protos = torch.randn(20, 4, 205, 2).cumsum(2) * 0.1
for episodes in (400, 4000):
    start = time.perf_counter()
    training.train_generators(protos, training.TrainSettings(hidden_size=10, episodes=episodes), range(20), device=device)
    torch.cuda.synchronize()
    print(f"train 20 character generators, {episodes} episodes: {time.perf_counter() - start:.1f} s")
for name, (n, g, t, h, o) in {"characters": (572, 20, 205, 10, 2), "mnist": (10000, 10, 28, 20, 28)}.items():
    bank = gen.init_bank(range(g), h, o, device=device)
    targets = torch.rand(n, t, o)
    inverse.inverse_classify(bank, targets[:8], inverse.InverseSettings(iterations=1))
    torch.cuda.synchronize()
    start = time.perf_counter()
    inverse.inverse_classify(bank, targets, inverse.InverseSettings(iterations=50))
    torch.cuda.synchronize()
    print(f"inverse {name}: {n} x {g} x 50 iterations: {time.perf_counter() - start:.1f} s")
PY

echo "== one replicate of the default config, device: cuda (stops after 240 s; prints how far it got)"
work=$(mktemp -d)
start=$(date +%s)
timeout 240 snakemake --snakefile "$PWD/Snakefile" --directory "$work" --cores "$(nproc)" --resources gpu=1 \
  --config replicates=1 device=cuda --quiet progress > "$work/run.log" 2>&1
echo "exit $? after $(( $(date +%s) - start )) s; $(grep -c 'Finished job' "$work/.snakemake/log/"*.log 2>/dev/null) jobs finished"
tail -5 "$work/run.log"
