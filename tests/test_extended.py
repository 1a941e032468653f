"""Inversion beyond the paper (mic.model.extended): several starts per module, DTW as the decision metric."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from mic.jobs import random_starts_seed
from mic.model import generator as gen
from mic.model import inverse, training
from mic.model.extended import (
    DECISIONS,
    StartSettings,
    best_starts,
    decide,
    dtw_scores,
    extended_inverse,
    start_vectors,
)
from synthetic import wave_prototypes

T, O = 30, 2


@pytest.fixture(scope="module")
def trained():
    """A bank of 3 generators fitted closely to their synthetic prototypes [3, 4, T, O]."""
    protos = wave_prototypes(3, T)
    result = training.train_generators(protos, training.TrainSettings(episodes=6000), [1, 2, 3])
    return result, protos


def targets(n: int = 12) -> torch.Tensor:
    return torch.randn(n, T, O, generator=torch.Generator().manual_seed(5)).cumsum(1) * 0.2


def test_the_paper_start_alone_is_the_paper_procedure_bit_for_bit(trained) -> None:
    bank, x = trained[0].bank, targets()
    settings = inverse.InverseSettings(iterations=6, seed=11)
    paper = inverse.inverse_classify(bank, x, settings)
    ours = extended_inverse(bank, x, settings, StartSettings())
    assert torch.equal(ours.losses, paper.final_losses) and torch.equal(ours.mixtures, paper.mixtures)
    assert torch.equal(ours.predictions(), paper.predictions())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_more_starts_are_never_worse_than_the_single_start(trained, seed) -> None:
    """Property: every module keeps its best start, and the paper's start is among them."""
    bank, x = trained[0].bank, targets(10) * (1 + seed)
    settings = inverse.InverseSettings(iterations=5, seed=seed)
    single = inverse.inverse_classify(bank, x, settings).final_losses
    many_starts = StartSettings(starts=("uniform", "vertices", "random"), random_starts=3)
    many = extended_inverse(bank, x, settings, many_starts, random_starts_seed(settings.seed))
    assert (many.losses <= single).all()
    assert (many.best_start > 0).any()  # the other starts do win somewhere
    assert many.best_start.max() < 1 + 4 + 3


def test_decisions_on_shared_inversions_are_each_variants_own_result(trained) -> None:
    # variants that differ only in the decision share one inversion (the pipeline's extended job)
    bank, x = trained[0].bank, targets(6)
    settings = inverse.InverseSettings(iterations=4, seed=7)
    starts = StartSettings(starts=("uniform", "vertices"))
    found = best_starts(bank, x, settings, starts, keep_reconstructions=True)
    for decision in DECISIONS:
        alone = extended_inverse(bank, x, settings, replace(starts, decision=decision))
        shared = decide(found, x, decision)
        assert torch.equal(shared.scores, alone.scores) and torch.equal(shared.mixtures, alone.mixtures)
    with pytest.raises(ValueError, match="keep_reconstructions"):
        decide(best_starts(bank, x, settings, starts), x, "dtw")


def test_start_vectors_are_the_paper_uniform_draw_vertices_and_simplex_points() -> None:
    settings = inverse.InverseSettings(seed=3)
    starts = StartSettings(starts=("uniform", "vertices", "random"), random_starts=2)
    vectors = start_vectors(5, 2, settings, starts, random_starts_seed(settings.seed))
    assert vectors.shape == (1 + 4 + 2, 5, 2, gen.INPUT_SIZE)
    assert torch.equal(vectors[0], inverse.initial_vectors(5, 2, settings))
    assert torch.equal(vectors[1:5], torch.eye(4)[:, None, None, :].expand(4, 5, 2, 4))
    assert torch.allclose(vectors[5:].sum(-1), torch.ones(2, 5, 2)) and (vectors[5:] >= 0).all()


def test_a_vertex_start_of_a_fitted_module_reproduces_its_prototype(trained) -> None:
    result, protos = trained
    k = 2
    settings = inverse.InverseSettings(iterations=0)
    vertex = torch.eye(4)[k].expand(protos.shape[1], 3, 4).clone()
    inverted = inverse.inverse_classify(result.bank, protos[0], settings, keep=range(4), start=vertex)
    generated = gen.generate(result.bank, torch.eye(4)[k].expand(3, 1, 4), T)[:, 0]  # [G, T, O]
    torch.testing.assert_close(inverted.reconstructions[k], generated, rtol=1e-4, atol=1e-5)
    # module 0 was trained on these prototypes: from vertex k it draws prototype k, as closely as it fits it
    assert inverted.final_losses[k, 0] < 0.02 and inverted.final_losses[k, 0] <= 1.5 * result.clean_loss[0] + 1e-3
    assert inverted.final_losses[k, 0] < inverted.final_losses[k, 1:].min()


def test_dtw_decision_agrees_with_tslearn(trained) -> None:
    from tslearn.metrics import dtw

    bank, x = trained[0].bank, targets(4)
    result = extended_inverse(
        bank, x, inverse.InverseSettings(iterations=3), StartSettings(starts=("uniform", "vertices"), decision="dtw")
    )
    for i in range(len(x)):
        for g in range(3):
            want = dtw(result.reconstructions[i, g].double().numpy(), x[i].double().numpy())
            assert result.scores[i, g].item() == pytest.approx(want, rel=1e-12)
    assert torch.equal(result.predictions(), result.scores.argmin(1))


def test_dtw_scores_on_a_hand_computed_case() -> None:
    """A time-shifted copy aligns at no cost under DTW, unlike under the MSE."""
    target = torch.tensor([[0.0], [1.0], [2.0], [2.0]])
    shifted = torch.tensor([[0.0], [0.0], [1.0], [2.0]])
    scores = dtw_scores(torch.stack([shifted, target + 1.0])[None], target[None])
    assert scores[0, 0].item() == pytest.approx(0.0)
    # [1, 2, 3, 3] against [0, 1, 2, 2]: the best path pays 1 for the first 1 (against 0) and for each final 3
    # (against 2), and aligns the other 1 and 2 for free: sqrt(1 + 1 + 1)
    assert scores[0, 1].item() == pytest.approx(np.sqrt(3.0))


def test_bad_start_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="starts"):
        StartSettings(starts=("everywhere",))
    with pytest.raises(ValueError, match="each once"):
        StartSettings(starts=("vertices", "vertices"))
    with pytest.raises(ValueError, match="random_starts"):
        StartSettings(starts=("uniform", "random"))
    with pytest.raises(ValueError, match="decision"):
        StartSettings(decision="cosine")
