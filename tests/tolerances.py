"""What a float comparison across batch shapes, instruction sets or engines may assume, and why.

Every target's inversion (and every generator's training) is the same arithmetic whatever else shares its
chunk, SIMD lane, batch or engine. The instruction sequence is not: MKL picks its sgemm blocking by batch
size and by CPU (AVX2 on Zen 3, AVX-512 on Zen 4), the compiler contracts multiply-adds differently in the
native kernel's single and paired blocks, and torch and the C kernels sum in different orders. So results
agree only up to rounding, amplified along the trajectory.

How far it is amplified has a bound for inversion. Adam's step is lr * m / (sqrt(v) + eps); when a gradient
component g is below eps, the step moves by up to lr * dg / eps for a change dg in g, i.e. by
lr / eps = 0.05 / 1e-8 = 5e6 times the gradient's rounding error, in each of the K steps.

- In float64 the gradient's rounding error is at most ~1e-14 (sums of <= 4H = 40 products of O(1) terms,
  eps_64 = 1.1e-16, along T <= 60 steps), so K = 5 steps move a mixture by at most
  5 * 5e6 * 1e-14 = 2.5e-7: FLOAT64_REORDERED holds 4x that. A chunking mistake (a wrong target, module
  or lane) moves results by 1e-2 or more, so float64 comparisons test the logic.
- In float32 (eps_32 = 6e-8) the same bound exceeds 1: no tolerance is guaranteed. FLOAT32_REORDERED is
  empirical: twice the largest difference seen between chunkings and engines on either kind of CPU
  (4.7e-4 relative, one mixture element in 144 on AVX-512; 1.8e-5 on AVX2). Tests of chunking logic
  therefore run in float64 where the engine allows it, and float32 comparisons are smoke tests of
  agreement, not of bits.
"""

from __future__ import annotations

FLOAT64_REORDERED = dict(rtol=1e-9, atol=1e-6)
FLOAT32_REORDERED = dict(rtol=1e-3, atol=1e-5)
