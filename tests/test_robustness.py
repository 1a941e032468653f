"""Corruptions, outlier scores and attacks (mic.robustness) on small cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score

from mic.model import inverse, training
from mic.robustness import attacks, corruptions, outliers
from synthetic import wave_prototypes
from test_inverse import reference_inverse


def ramp(length: int = 10, samples: int = 2, channels: int = 2) -> np.ndarray:
    """[samples, length, channels] with value t at step t."""
    return np.broadcast_to(np.arange(length, dtype=np.float32)[None, :, None], (samples, length, channels)).copy()


# corruptions


def test_gaussian_adds_noise_of_level_times_scale():
    x = np.full((200, 50, 3), 2.0, dtype=np.float32)
    out = corruptions.corrupt(x, "gaussian", 0.5, np.random.default_rng(0), scale=3.0)
    assert out.dtype == np.float32 and out.shape == x.shape and (x == 2.0).all()
    assert abs((out - x).std() - 1.5) < 0.02 and abs((out - x).mean()) < 0.02
    again = corruptions.corrupt(x, "gaussian", 0.5, np.random.default_rng(0), scale=3.0)
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(corruptions.corrupt(x, "gaussian", 0.0, np.random.default_rng(0)), x)


def test_occlusion_blanks_a_band_at_the_drawn_start():
    x = np.arange(1, 3 * 10 * 2 + 1, dtype=np.float32).reshape(3, 10, 2)
    out = corruptions.corrupt(x, "occlusion", 0.3, np.random.default_rng(5), fill=-1.0)
    starts = np.random.default_rng(5).integers(0, 10 - 3 + 1, size=3)  # band of round(0.3 * 10) = 3 steps
    want = x.copy()
    for i, s in enumerate(starts):
        want[i, s : s + 3] = -1.0
    np.testing.assert_array_equal(out, want)
    assert (out == -1.0).sum() == 3 * 3 * 2
    np.testing.assert_array_equal(corruptions.corrupt(x, "occlusion", 0.0, np.random.default_rng(5)), x)
    assert (corruptions.corrupt(x, "occlusion", 1.0, np.random.default_rng(5)) == 0.0).all()


def test_time_shift_delays_and_holds_the_first_value():
    out = corruptions.corrupt(ramp(10), "time_shift", 0.2, np.random.default_rng(0))
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(out[1], out[0])
    # round half up: 0.25 * 10 = 2.5 -> 3 steps
    out = corruptions.corrupt(ramp(10), "time_shift", 0.25, np.random.default_rng(0))
    np.testing.assert_array_equal(out[0, :, 1], [0, 0, 0, 0, 1, 2, 3, 4, 5, 6])


def test_speed_resamples_the_trace_in_time():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 10, 3)).astype(np.float32)
    same = corruptions.corrupt(x, "speed", 1.0, rng)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    fast = corruptions.corrupt(ramp(10), "speed", 2.0, rng)
    np.testing.assert_array_equal(fast[0, :, 0], [0, 2, 4, 6, 8, 9, 9, 9, 9, 9])
    slow = corruptions.corrupt(ramp(10), "speed", 0.5, rng)
    np.testing.assert_allclose(slow[1, :, 1], np.arange(10) * 0.5)
    square = ramp(10) ** 2  # linear interpolation between steps: t = 1.5 lies between 1 and 4
    np.testing.assert_allclose(corruptions.corrupt(square, "speed", 1.5, rng)[0, :3, 0], [0.0, 2.5, 9.0])


@pytest.mark.parametrize(
    ("kind", "level", "message"),
    [
        ("blur", 0.1, "blur"),
        ("gaussian", -0.1, "gaussian level"),
        ("occlusion", 1.5, "occlusion level"),
        ("time_shift", 1.0, "time_shift level"),
        ("speed", 0.0, "speed level"),
        ("speed", math.nan, "speed level"),
    ],
)
def test_corrupt_rejects_unknown_kinds_and_levels(kind, level, message):
    with pytest.raises(ValueError, match=message):
        corruptions.corrupt(ramp(), kind, level, np.random.default_rng(0))


# outliers


def test_noise_outliers_match_mean_and_spread_per_step_and_channel():
    rng = np.random.default_rng(1)
    reference = rng.standard_normal((500, 6, 2)) * np.linspace(0.5, 3, 12).reshape(6, 2) + np.arange(12).reshape(6, 2)
    out = outliers.outlier_set("noise", reference, 20000, np.random.default_rng(2))
    assert out.shape == (20000, 6, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(0), reference.mean(0), atol=0.05)
    np.testing.assert_allclose(out.std(0), reference.std(0), rtol=0.02)
    # independent across (t, c): no correlation left between neighbouring steps
    assert abs(np.corrcoef(out[:, 0, 0], out[:, 1, 0])[0, 1]) < 0.03


def test_reversed_outliers_are_drawn_samples_backwards():
    reference = np.random.default_rng(0).standard_normal((30, 7, 2)).astype(np.float32)
    out = outliers.outlier_set("reversed", reference, 5, np.random.default_rng(3))
    rows = np.random.default_rng(3).choice(30, size=5, replace=False)
    np.testing.assert_array_equal(out, reference[rows, ::-1])
    everything = outliers.outlier_set("reversed", reference, 100, np.random.default_rng(3))
    assert everything.shape == (30, 7, 2)
    assert sorted(map(bytes, everything[:, ::-1])) == sorted(map(bytes, reference))
    with pytest.raises(ValueError, match="outlier set"):
        outliers.outlier_set("shuffled", reference, 5, np.random.default_rng(0))


def test_softmax_and_energy_scores_on_hand_logits():
    logits = np.array([[0.0, 0.0], [math.log(3.0), 0.0], [1000.0, 1000.0]])
    np.testing.assert_allclose(outliers.softmax_score(logits), [-0.5, -0.75, -0.5])
    np.testing.assert_allclose(outliers.energy_score(logits), [-math.log(2), -math.log(4), -1000 - math.log(2)])


@pytest.mark.parametrize(
    ("inliers", "outliers_", "want"),
    [
        ([1.0, 2.0], [3.0, 4.0], 1.0),
        ([3.0, 4.0], [1.0, 2.0], 0.0),
        ([1.0, 2.0], [2.0, 3.0], 3.5 / 4),  # one tie of four pairs
        ([5.0, 5.0, 5.0], [5.0], 0.5),
        ([0.0, 2.0, 2.0], [1.0, 2.0], (1 + 0 + 0 + 1 + 0.5 + 0.5) / 6),
    ],
)
def test_auroc_on_hand_cases(inliers, outliers_, want):
    assert outliers.auroc(np.array(inliers), np.array(outliers_)) == pytest.approx(want)


def test_auroc_is_nan_without_scores():
    assert math.isnan(outliers.auroc(np.array([]), np.array([1.0])))
    assert math.isnan(outliers.auroc(np.array([1.0]), np.array([])))


def test_auroc_equals_pair_counts_and_the_trapezoid_under_roc_points():
    rng = np.random.default_rng(4)
    inl = np.round(rng.standard_normal(300), 1)  # rounded: many ties within and across the sets
    out = np.round(rng.standard_normal(200) + 0.7, 1)
    value = outliers.auroc(inl, out)
    pairs = (out[:, None] > inl[None]).mean() + 0.5 * (out[:, None] == inl[None]).mean()
    assert value == pytest.approx(pairs, abs=1e-12)
    assert value == pytest.approx(roc_auc_score(np.r_[np.zeros(300), np.ones(200)], np.r_[inl, out]), abs=1e-12)
    distinct = len(np.unique(np.r_[inl, out]))
    fpr, tpr = outliers.roc_points(inl, out, points=distinct + 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(value, abs=1e-12)
    fpr, tpr = outliers.roc_points(inl, out)
    assert len(fpr) == len(tpr) == 101
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()
    assert abs(np.trapezoid(tpr, fpr) - value) < 0.02  # coarse curve, close to the exact area


def test_threshold_keeps_the_share_and_accepted_share_counts_outliers_below_it():
    scores = np.random.default_rng(0).permutation(np.arange(1.0, 21.0))
    assert outliers.threshold_keeping(scores, 0.95) == 19.0  # 19 of 20 <= 19
    assert outliers.threshold_keeping(scores, 0.9) == 18.0
    assert outliers.threshold_keeping(scores, 0.96) == 20.0
    assert outliers.threshold_keeping(scores, 1.0) == 20.0
    assert outliers.threshold_keeping(np.arange(10.0), 0.95) == 9.0  # 9.5 of 10 -> all 10
    assert outliers.accepted_share(np.array([18.0, 19.0, 19.5, 25.0]), 19.0) == 0.5
    assert outliers.accepted_share(np.array([30.0]), 19.0) == 0.0


# attacks: norms and PGD on a linear model with a known minimal perturbation


def test_norms_and_ball_projection():
    delta = np.array([[[3.0, 4.0]], [[0.3, -0.4]]])
    np.testing.assert_allclose(attacks.norm_of(delta, "l2"), [5.0, 0.5])
    np.testing.assert_allclose(attacks.norm_of(delta, "linf"), [4.0, 0.4])
    np.testing.assert_allclose(attacks.project_ball(delta, 1.0, "l2"), [[[0.6, 0.8]], [[0.3, -0.4]]])
    np.testing.assert_allclose(attacks.project_ball(delta, 0.35, "linf"), [[[0.35, 0.35]], [[0.3, -0.35]]])
    with pytest.raises(ValueError, match="norm"):
        attacks.norm_of(delta, "l1")


def linear_problem(seed: int = 0, n: int = 400):
    """Two-class linear model f(x) = w.x + b (class 1 iff f > 0), its gradient function and inputs."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((5, 2))
    b = 0.3
    x = rng.standard_normal((n, 5, 2)).astype(np.float32)
    f = (x.astype(np.float64) * w).sum((1, 2)) + b
    y = (f > 0).astype(np.int64)
    calls = []

    def gradient(inputs, labels):
        calls.append(len(inputs))
        value = (inputs.astype(np.float64) * w).sum((1, 2)) + b
        sign = np.where(labels == 1, -1.0, 1.0)  # push class 1 down, class 0 up
        return (sign[:, None, None] * w).astype(np.float32), (value > 0) == (labels == 1)

    return w, f, x, y, gradient, calls


@pytest.mark.parametrize(("norm", "dual"), [("l2", 2), ("linf", 1)])
def test_pgd_breaks_exactly_the_samples_within_epsilon_of_the_boundary(norm, dual):
    w, f, x, y, gradient, calls = linear_problem()
    margin = np.abs(f) / np.linalg.norm(w.ravel(), dual)  # minimal perturbation in `norm`
    epsilon = float(np.median(margin))
    steps = 10
    x_adv, correct = attacks.pgd(x, y, gradient, epsilon, norm, steps)
    assert x_adv.dtype == np.float32
    assert (attacks.norm_of(x_adv - x, norm) <= epsilon * (1 + 1e-5)).all()
    assert not correct[margin < 0.99 * epsilon].any()
    assert correct[margin > 1.01 * epsilon].all()
    assert 0.45 < correct.mean() < 0.55
    # a broken sample stopped where it first crossed: the model errs there
    f_adv = (x_adv.astype(np.float64) * w).sum((1, 2)) + 0.3
    np.testing.assert_array_equal((f_adv > 0) == (y == 1), correct)
    # only still-correct samples are passed on, at most steps + 1 times
    assert len(calls) <= steps + 1 and calls[0] == len(x)
    assert all(a >= b for a, b in zip(calls, calls[1:]))
    assert calls[-1] >= correct.sum()


def test_pgd_with_zero_epsilon_and_bounds():
    w, f, x, y, gradient, calls = linear_problem(1, 50)
    x = np.clip(x, -0.5, 0.5)  # the attack keeps a point inside the bounds, it does not pull one in
    y = ((x.astype(np.float64) * w).sum((1, 2)) + 0.3 > 0).astype(np.int64)
    y_wrong = y.copy()
    y_wrong[:5] = 1 - y_wrong[:5]
    x_adv, correct = attacks.pgd(x, y_wrong, gradient, 0.0, "linf", 10)
    np.testing.assert_array_equal(x_adv, x)
    np.testing.assert_array_equal(correct, np.arange(50) >= 5)
    assert calls == [50]
    calls.clear()
    x_adv, correct = attacks.pgd(x, y_wrong, gradient, 10.0, "linf", 5, bounds=(-0.5, 0.5))
    assert x_adv.min() >= -0.5 and x_adv.max() <= 0.5
    np.testing.assert_array_equal(x_adv[:5], x[:5])  # misclassified from the start: never moved
    assert calls[0] == 50 and calls[1] == 45


def test_forward_gradient_is_the_cross_entropy_gradient():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3)).train()
    x = np.random.default_rng(0).standard_normal((6, 4, 2)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    grad, correct = attacks.forward_gradient(model, batch_size=4)(x, y)
    weight, bias = model[1].weight.detach().double().numpy(), model[1].bias.detach().double().numpy()
    logits = x.reshape(6, 8).astype(np.float64) @ weight.T + bias
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    want = (prob - np.eye(3)[y]) @ weight  # d CE / d x per sample
    np.testing.assert_allclose(grad.reshape(6, 8), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(correct, logits.argmax(1) == y)
    assert grad.dtype == np.float32 and not model.training
    assert all(p.grad is None for p in model.parameters())


def test_mic_margin_gradient_with_fixed_reconstructions():
    # with reconstructions that do not move, the margin is a plain quadratic: its gradient is exactly the
    # envelope formula, checked here against finite differences
    rng = np.random.default_rng(2)
    recon = rng.standard_normal((3, 5, 2))  # module j reconstructs every target as recon[j]

    def invert(x):
        x = np.asarray(x, dtype=np.float64)
        losses = ((recon[None] - x[:, None]) ** 2).mean((2, 3))
        return losses, np.broadcast_to(recon, (len(x), *recon.shape))

    def margin(x, label):
        losses = invert(x[None])[0][0]
        return losses[label] - np.delete(losses, label).min()

    x = np.stack([recon[0] + 0.1 * rng.standard_normal((5, 2)), recon[2] + 0.3 * rng.standard_normal((5, 2))])
    y = np.array([0, 1])
    grad, correct = attacks.mic_margin_gradient(invert)(x, y)
    np.testing.assert_array_equal(correct, [True, False])
    losses = invert(x)[0]
    other = [np.argmin(np.where(np.arange(3) == label, np.inf, row)) for label, row in zip(y, losses)]
    assert other == [np.argsort(losses[0])[1], 2]
    for i in range(2):
        np.testing.assert_allclose(grad[i], 2 * (recon[other[i]] - recon[y[i]]) / 10, rtol=1e-6)
        direction = rng.standard_normal((5, 2))
        h = 1e-5
        numeric = (margin(x[i] + h * direction, y[i]) - margin(x[i] - h * direction, y[i])) / (2 * h)
        assert (grad[i] * direction).sum() == pytest.approx(numeric, rel=1e-5)


# envelope against unrolled gradients of one inversion

T_SMALL = 12


@pytest.fixture(scope="module")
def small_bank():
    """Two generators trained briefly on short synthetic prototypes [2, 4, 12, 2]."""
    protos = wave_prototypes(2, T_SMALL)
    return training.train_generators(protos, training.TrainSettings(episodes=2000), [1, 2]).bank, protos


def test_envelope_matches_unrolled_where_the_inversion_has_converged(small_bank):
    bank, protos = small_bank
    settings = inverse.InverseSettings(iterations=200)
    target, start = protos[0, 1], inverse.initial_vectors(1, 2, settings)[0]
    run = inverse.inverse_classify(bank.to(dtype=torch.float64), target[None].double(), settings, backend="torch")
    tail = run.losses[-20:, 0, 0]
    assert (tail.max() - tail.min()) / tail[-1] < 1e-3  # the last 20 Adam steps no longer change the loss
    envelope = attacks.envelope_input_gradient(bank, target, 0, settings, start[0])
    unrolled = attacks.unrolled_input_gradient(bank, target, 0, settings, start[0])
    agreement = attacks.gradient_agreement(envelope, unrolled)
    assert agreement["cosine"] > 0.9999 and agreement["relative_error"] < 0.02


def test_envelope_differs_from_unrolled_before_convergence(small_bank):
    bank, protos = small_bank
    target = protos[0, 1]
    settings = inverse.InverseSettings(iterations=5)
    start = inverse.initial_vectors(1, 2, settings)[0, 0]
    envelope = attacks.envelope_input_gradient(bank, target, 0, settings, start)
    unrolled = attacks.unrolled_input_gradient(bank, target, 0, settings, start)
    agreement = attacks.gradient_agreement(envelope, unrolled)
    assert agreement["cosine"] < 0.5 and agreement["relative_error"] > 0.5
    # one step: Adam's first move is lr * g / (|g| + eps / 0.1) = lr * sign(g) up to eps, which does not depend
    # on the target, so the unrolled derivative has nothing beyond the envelope's term
    one = inverse.InverseSettings(iterations=1)
    agreement = attacks.gradient_agreement(
        attacks.envelope_input_gradient(bank, target, 0, one, start),
        attacks.unrolled_input_gradient(bank, target, 0, one, start),
    )
    assert agreement["relative_error"] < 1e-5


def test_unrolled_is_the_total_derivative_and_envelope_the_partial_one(small_bank):
    bank, protos = small_bank
    bank64 = bank.to(dtype=torch.float64)
    settings = inverse.InverseSettings(iterations=5)
    start = inverse.initial_vectors(1, 2, settings)
    target = protos[0, 2].double() + 0.05 * torch.randn(T_SMALL, 2, generator=torch.Generator().manual_seed(0))

    def final_loss(t):  # the float64 per-sample loop of test_inverse
        return reference_inverse(bank64, t, 0, start[0, 0].double(), settings)[0][-1]

    unrolled = attacks.unrolled_input_gradient(bank, target, 0, settings, start[0, 0])
    direction = torch.randn(T_SMALL, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h = 1e-6
    numeric = (final_loss(target + h * direction) - final_loss(target - h * direction)) / (2 * h)
    assert (unrolled * direction).sum().item() == pytest.approx(numeric, rel=1e-5)
    run = inverse.inverse_classify(bank64, target[None], settings, keep=[0], backend="torch", start=start)
    want = 2 * (target - run.reconstructions[0, 0]) / (T_SMALL * 2)
    torch.testing.assert_close(attacks.envelope_input_gradient(bank, target, 0, settings, start[0, 0]), want)


# nearest-prototype minimal L2 perturbation


def slsqp_margin(prototypes: np.ndarray, x: np.ndarray, label: int) -> float:
    """Distance from x to the nearest point where some other-class prototype is as near as all own ones."""
    protos = prototypes.reshape(prototypes.shape[0], prototypes.shape[1], -1)
    x = x.ravel()
    best = np.inf
    for k in range(len(protos)):
        if k == label:
            continue
        for q in protos[k]:
            own = protos[label]
            cons = {"type": "ineq", "fun": lambda z, q=q, own=own: ((z - own) ** 2).sum(1) - ((z - q) ** 2).sum()}
            for z0 in (x, q, (x + q) / 2):
                res = minimize(
                    lambda z: ((z - x) ** 2).sum(),
                    z0,
                    jac=lambda z: 2 * (z - x),
                    constraints=[cons],
                    method="SLSQP",
                    options={"ftol": 1e-14, "maxiter": 500},
                )
                if res.success and cons["fun"](res.x).min() > -1e-8:
                    best = min(best, math.sqrt(res.fun))
    return best


def test_nearest_prototype_margin_matches_slsqp_on_random_cases():
    rng = np.random.default_rng(7)
    prototypes = rng.standard_normal((3, 4, 3, 2))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    x = prototypes[y, rng.integers(0, 4, len(y))] + 0.6 * rng.standard_normal((len(y), 3, 2))
    x[-1] = prototypes[2, 0] + 0.01  # labelled 1, lies on a class-2 prototype
    margins = attacks.nearest_prototype_l2_margin(prototypes, x, y)
    flat = prototypes.reshape(12, -1)
    nearest = np.argmin(((x.reshape(len(y), 1, -1) - flat[None]) ** 2).sum(2), 1) // 4
    assert (nearest == y).sum() >= 5 and (nearest != y).any()
    for i in range(len(y)):
        if nearest[i] != y[i]:
            assert margins[i] == 0.0
        else:
            assert margins[i] == pytest.approx(slsqp_margin(prototypes, x[i], y[i]), rel=1e-5, abs=1e-7)


def test_nearest_prototype_margin_on_a_mirror_symmetric_plane():
    # class 1's prototypes mirror class 0's at the line u = 0, so 1-NN splits the plane there and the margin is
    # |u|; four prototypes in 2-D make three- and four-constraint active sets linearly dependent
    own = np.array([[-1.0, 1.0], [-1.0, -1.0], [-3.0, 1.0], [-3.0, -1.0]])
    prototypes = np.stack([own, own * [-1.0, 1.0]]).reshape(2, 4, 1, 2)
    x = np.array([[-0.5, 0.0], [-0.5, 5.0], [2.0, -0.3], [-4.0, 0.7], [0.0, 0.2], [0.7, 0.0]]).reshape(6, 1, 2)
    y = np.array([0, 0, 1, 0, 0, 0])
    margins = attacks.nearest_prototype_l2_margin(prototypes, x, y)
    # the last two: on the boundary (a tie counts as an error) and on the wrong side
    np.testing.assert_allclose(margins, [0.5, 0.5, 2.0, 4.0, 0.0, 0.0], atol=1e-12)


def test_epsilon_scale_is_the_median_distance_to_another_class():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 4.0], [10.0, 0.0]]).reshape(4, 2, 1)
    y = np.array([0, 0, 1, 1])
    # nearest other-class distances: l2 5, sqrt(20), sqrt(20), 9; linf 4, 4, 4, 9
    assert attacks.epsilon_scale(x, y, "l2") == pytest.approx((5 + math.sqrt(20)) / 2)
    assert attacks.epsilon_scale(x, y, "linf") == pytest.approx(4.0)
    with pytest.raises(ValueError, match="two classes"):
        attacks.epsilon_scale(x, np.zeros(4), "l2")
