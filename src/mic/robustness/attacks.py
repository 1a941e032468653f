"""Adversarial attacks: projected gradient ascent in an L2 or Linf ball, and the gradients it follows.

The forward classifier is attacked through autograd on its cross-entropy. MIC has no single differentiable
score: a module's loss is itself a minimum over its input vector. By the envelope theorem the gradient of
that minimum w.r.t. the target is the partial derivative at the optimum, so the attack needs one inversion
per step and no backward pass through the 50 Adam steps; envelope_input_gradient and unrolled_input_gradient
compute both on one (target, module) pair to check that. The nearest-prototype baseline's minimal L2
perturbation is known in closed form (a small QP per competing prototype), a lower bound PGD can be judged by.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.spatial.distance import cdist
from torch import Tensor

from mic.model import generator as gen
from mic.model.generator import GeneratorBank
from mic.model.inverse import InverseSettings
from mic.robustness.settings import ATTACK_NORMS

# (inputs [n, T, C], true labels [n]) -> (gradient of the objective to maximise [n, T, C], still correct [n])
GradientFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _check_norm(norm: str) -> None:
    """Raise ValueError for an unknown norm."""
    if norm not in ATTACK_NORMS:
        raise ValueError(f"norm must be one of {ATTACK_NORMS}, got {norm!r}")


def norm_of(delta: np.ndarray, norm: str) -> np.ndarray:
    """[N] norm of each sample of delta [N, ...] over all its other axes."""
    _check_norm(norm)
    flat = np.asarray(delta).reshape(len(delta), -1)
    if flat.shape[1] == 0:
        return np.zeros(len(flat), dtype=flat.dtype)
    return np.linalg.norm(flat, axis=1) if norm == "l2" else np.abs(flat).max(1)


def project_ball(delta: np.ndarray, epsilon: float, norm: str) -> np.ndarray:
    """delta [N, ...] with every sample moved into the epsilon-ball of the norm (nearest point)."""
    _check_norm(norm)
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}")
    delta = np.asarray(delta)
    if norm == "linf":
        return np.clip(delta, -epsilon, epsilon)
    size = norm_of(delta, "l2").astype(np.float64)
    factor = np.minimum(1.0, epsilon / np.maximum(size, np.finfo(np.float64).tiny))
    return (delta * factor.reshape(-1, *([1] * (delta.ndim - 1)))).astype(delta.dtype)


def _direction(grad: np.ndarray, norm: str) -> np.ndarray:
    """Steepest-ascent unit step of the norm: sign(g) (linf) or g / ||g|| (l2; zero gradient: no move)."""
    if norm == "linf":
        return np.sign(grad)
    size = norm_of(grad, "l2").astype(np.float64)
    scale = np.where(size > 0, 1.0 / np.where(size > 0, size, 1.0), 0.0)
    return grad * scale.reshape(-1, *([1] * (grad.ndim - 1)))


def pgd(
    x: np.ndarray,
    y: np.ndarray,
    gradient: GradientFn,
    epsilon: float,
    norm: str,
    steps: int,
    step_size: float | None = None,
    bounds: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Projected gradient ascent from x (no random start); returns (x_adv float32, correct at x_adv [n]).

    Step size defaults to 2.5 * epsilon / steps (Madry et al.). A sample stops at the first point where the
    model errs, so the accuracy under attack is the share never broken; only still-correct samples are passed
    to `gradient`, which is called at most steps + 1 times (once for epsilon == 0).
    """
    _check_norm(norm)
    if epsilon < 0 or not math.isfinite(epsilon):
        raise ValueError(f"epsilon must be finite and >= 0, got {epsilon}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if step_size is not None and step_size <= 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)} labels")
    x_adv = x.copy()
    correct = np.ones(len(x), dtype=bool)
    if len(x) == 0:
        return x_adv, correct
    if epsilon == 0:
        steps = 0
    if step_size is None:
        step_size = 2.5 * epsilon / max(steps, 1)
    active = np.arange(len(x))
    for step in range(steps + 1):
        grad, ok = gradient(x_adv[active], y[active])
        ok = np.asarray(ok, dtype=bool)
        correct[active] = ok
        active, grad = active[ok], np.asarray(grad)[ok]
        if step == steps or len(active) == 0:
            break
        moved = x_adv[active] + step_size * _direction(grad.astype(np.float64), norm)
        moved = x[active] + project_ball(moved - x[active], epsilon, norm)
        if bounds is not None:
            moved = np.clip(moved, *bounds)
        x_adv[active] = moved
    return x_adv, correct


def forward_gradient(model: torch.nn.Module, batch_size: int = 1024) -> GradientFn:
    """Gradient of a logit classifier's cross-entropy w.r.t. its input, per sample (summed loss).

    Puts the model in eval mode; the parameters' .grad are left as they were (autograd.grad on the input only).
    """
    model.eval()
    device = next(model.parameters()).device

    def gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grads, correct = [], []
        for lo in range(0, len(x), batch_size):
            inputs = torch.as_tensor(np.asarray(x[lo : lo + batch_size], dtype=np.float32), device=device)
            inputs.requires_grad_(True)
            labels = torch.as_tensor(np.asarray(y[lo : lo + batch_size], dtype=np.int64), device=device)
            # cuDNN's RNN backward refuses eval mode; the native kernels give the same gradient
            with torch.backends.cudnn.flags(enabled=False):
                logits = model(inputs)
                loss = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
                (grad,) = torch.autograd.grad(loss, inputs)
            grads.append(grad.cpu().numpy())
            correct.append((logits.argmax(1) == labels).cpu().numpy())
        if not grads:
            return np.zeros_like(x, dtype=np.float32), np.zeros(0, dtype=bool)
        return np.concatenate(grads), np.concatenate(correct)

    return gradient


def mic_margin_gradient(invert: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> GradientFn:
    """Envelope gradient of MIC's margin L_y - min_{j != y} L_j from one inversion of every module.

    invert(x) returns the final losses [n, G] and reconstructions [n, G, T, C]. Module j's optimised loss
    min_z mean((y_hat_j(z) - x)^2) has gradient 2 (x - y_hat_j(z*)) / (T C) w.r.t. x, so the margin's is
    2 (y_hat_j* - y_hat_y) / (T C) with j* the best other module. correct: argmin_j L_j == y.
    """

    def gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        losses, recon = invert(x)
        losses, recon = np.asarray(losses, dtype=np.float64), np.asarray(recon, dtype=np.float64)
        n, modules = losses.shape
        if modules < 2:
            raise ValueError("the margin needs at least two modules")
        rows, y = np.arange(n), np.asarray(y, dtype=np.int64)
        others = losses.copy()
        others[rows, y] = np.inf
        best_other = others.argmin(1)
        size = recon.shape[2] * recon.shape[3]
        grad = 2.0 * (recon[rows, best_other] - recon[rows, y]) / size
        return grad.astype(np.float32), losses.argmin(1) == y

    return gradient


def _module_nets(bank: GeneratorBank, module: int) -> tuple[torch.nn.LSTM, torch.nn.Linear]:
    """One generator as a float64 nn.LSTM and nn.Linear with frozen weights."""
    state = gen.extract_state(bank, module)
    lstm = torch.nn.LSTM(bank.input_size, bank.hidden_size).double()
    lin = torch.nn.Linear(bank.hidden_size, bank.output_size).double()
    params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, lin.weight, lin.bias]
    with torch.no_grad():
        for name, p in zip(gen.PARAM_NAMES, params):
            p.copy_(state[name])
            p.requires_grad_(False)
    return lstm, lin


def _final_loss_gradient(
    bank: GeneratorBank, target: Tensor, module: int, settings: InverseSettings, start: Tensor, unrolled: bool
) -> Tensor:
    """d final loss / d target [T, O] in float64, through the Adam steps (unrolled) or with z_K held fixed."""
    lstm, lin = _module_nets(bank, module)
    tgt = target.detach().to(torch.float64).clone().requires_grad_(True)
    steps = tgt.shape[0]
    pad = torch.zeros(steps - 1, 1, bank.input_size, dtype=torch.float64)
    b1, b2 = settings.betas
    x = start.detach().to(torch.float64).clone().requires_grad_(True)
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    last = settings.iterations
    for k in range(last + 1):
        if not (settings.final_loss == "raw" and k == last and k > 0):
            x = x.clamp(0.0, 1.0)
            x = x / x.sum()
        if not unrolled:
            x = x.detach().requires_grad_(True)
        inputs = torch.cat([x.view(1, 1, -1), pad])
        # held fixed, the target enters only the final loss
        against = tgt if unrolled or k == last else tgt.detach()
        loss = torch.nn.functional.mse_loss(lin(lstm(inputs)[0])[:, 0], against)
        if k == last:
            break
        (grad,) = torch.autograd.grad(loss, x, create_graph=unrolled)
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        lr, denom = settings.learning_rate, v.sqrt()
        if settings.bias_correction:
            lr, denom = lr / (1 - b1 ** (k + 1)), denom / math.sqrt(1 - b2 ** (k + 1))
        x = x - lr * m / (denom + settings.eps)
    (grad,) = torch.autograd.grad(loss, tgt)
    return grad


def envelope_input_gradient(
    bank: GeneratorBank, target: Tensor, module: int, settings: InverseSettings, start: Tensor
) -> Tensor:
    """d loss(target, z_K) / d target [T, O] (float64) with the inverted input vector z_K held fixed."""
    return _final_loss_gradient(bank, target, module, settings, start, unrolled=False)


def unrolled_input_gradient(
    bank: GeneratorBank, target: Tensor, module: int, settings: InverseSettings, start: Tensor
) -> Tensor:
    """Total d final loss / d target [T, O] (float64) through all K Adam steps and projections of the inversion."""
    return _final_loss_gradient(bank, target, module, settings, start, unrolled=True)


def gradient_agreement(a: np.ndarray | Tensor, b: np.ndarray | Tensor) -> dict[str, float]:
    """Cosine similarity of a and b, and ||a - b|| / ||b||."""
    a, b = (np.asarray(t.detach().cpu() if isinstance(t, Tensor) else t, dtype=np.float64).ravel() for t in (a, b))
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    return {
        "cosine": float(a @ b / (norm_a * norm_b)) if norm_a > 0 and norm_b > 0 else math.nan,
        "relative_error": float(np.linalg.norm(a - b) / norm_b) if norm_b > 0 else math.nan,
    }


def nearest_prototype_l2_margin(prototypes: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[n] smallest L2 perturbation that makes Euclidean 1-NN over prototypes [K, P, T, C] misclassify x [n, T, C].

    Ties count as misclassified: a point as near to another class's prototype as to its own class's is an
    error, and samples already misclassified get 0. For each other-class prototype q, the points at least as
    near to q as to every true-class prototype p form the polytope {z: (p - q).z <= (|p|^2 - |q|^2) / 2 for
    all p}; the distance from x to it is a P-constraint QP, solved exactly in float64 through its dual:
    for every active set S, lambda_S = G_SS^+ r_S (G the constraints' Gram matrix, r their residuals at x);
    the candidate is kept when KKT-feasible (lambda >= 0, all constraints met) and its distance is
    sqrt(lambda^T G lambda). The margin is the smallest over q. Cost: 2^P small solves per (class, q).
    """
    protos = np.asarray(prototypes, dtype=np.float64)
    if protos.ndim != 4:
        raise ValueError(f"prototypes must be [K, P, T, C], got shape {protos.shape}")
    n_classes, per_class = protos.shape[:2]
    protos = protos.reshape(n_classes, per_class, -1)
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.int64)
    if x.shape[1] != protos.shape[2] or y.shape != (len(x),):
        raise ValueError(f"x [n, T, C] and y [n] must match prototypes [K, P, T, C], got {x.shape}, {y.shape}")
    if ((y < 0) | (y >= n_classes)).any():
        raise ValueError(f"labels must be in [0, {n_classes})")
    margins = np.zeros(len(x))
    # every active set as a mask: [S, P]
    masks = np.array(list(itertools.product([False, True], repeat=per_class)), dtype=bool)
    squared = (protos**2).sum(2)  # [K, P]
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        own = protos[label]  # [P, D]
        others = np.delete(protos, label, 0).reshape(-1, protos.shape[2])  # [Q, D]
        other_sq = np.delete(squared, label, 0).reshape(-1)  # [Q]
        # constraint p of polytope q: a = p - q, b = (|p|^2 - |q|^2) / 2; residual at x: r = a.x - b
        diffs = own[None] - others[:, None]  # [Q, P, D]
        gram = diffs @ diffs.transpose(0, 2, 1)  # [Q, P, P]
        dots_own, dots_other = x[rows] @ own.T, x[rows] @ others.T  # [n, P], [n, Q]
        resid = dots_own[:, None] - dots_other[:, :, None] - (squared[label][None, None] - other_sq[None, :, None]) / 2
        # pseudo-inverse of each active set's Gram block, zero-padded to [Q, S, P, P]; a singular block (affinely
        # dependent prototypes) still has a linearly independent active set giving the same optimum
        keep = masks[:, :, None] & masks[:, None, :]
        inverse = np.linalg.pinv(np.where(keep[None], gram[:, None], 0.0), rcond=1e-12)
        lam = np.einsum("qspk,nqk->nqsp", inverse * keep[None], resid)  # [n, Q, S, P]
        after = resid[:, :, None] - np.einsum("qpk,nqsk->nqsp", gram, lam)  # constraints at the candidate
        scale = np.abs(resid).max(2, keepdims=True)[..., None] + np.abs(gram).max((1, 2))[None, :, None, None]
        tol = 1e-9 * scale
        feasible = (after <= tol).all(3) & (lam >= -1e-9 * (1.0 + np.abs(lam))).all(3)
        dist2 = np.einsum("nqsp,qpk,nqsk->nqs", lam, gram, lam)
        margins[rows] = np.sqrt(np.maximum(np.where(feasible, dist2, np.inf).min((1, 2)), 0.0))
        # ties count as errors: 0 where another class's prototype is at least as near as the nearest own one
        near_own = (squared[label][None] - 2 * dots_own).min(1)
        near_other = (other_sq[None] - 2 * dots_other).min(1)
        margins[rows[near_other <= near_own]] = 0.0
    return margins


def epsilon_scale(x: np.ndarray, y: np.ndarray, norm: str, chunk: int = 1024) -> float:
    """Median over samples of the distance (whole sequence as one vector) to the nearest sample of another class."""
    _check_norm(norm)
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        raise ValueError("epsilon_scale needs samples of at least two classes")
    metric = "euclidean" if norm == "l2" else "chebyshev"
    nearest = np.empty(len(flat))
    for lo in range(0, len(flat), chunk):
        dist = cdist(flat[lo : lo + chunk], flat, metric=metric)
        dist[y[lo : lo + chunk, None] == y[None, :]] = np.inf
        nearest[lo : lo + chunk] = dist.min(1)
    return float(np.median(nearest))
