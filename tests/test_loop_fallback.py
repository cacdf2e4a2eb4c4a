"""After a divergence the loop holds the parameters the last finite loss was measured at — also when the epochs
before ran as one compiled chunk, whose last epoch's starting parameters are then run again. A driver whose
parameters count the epochs run makes it visible which ones are held."""

import math

import numpy as np
import pytest

from bpxp.training.history import Outcome
from bpxp.training.loop import Plan, run

pytestmark = pytest.mark.numpy_session("the loop's bookkeeping runs in the numpy session")


class CountingEpochs:
    """Parameters (w,) with w = the number of epochs run; epoch e's loss is ``losses[e]`` and its check
    ``checks[e]`` (NaN: the updated parameters were not finite)."""

    rows, per_call = 1, 3

    def __init__(self, losses, checks=None, several=True):
        self.losses, self.checks, self.several, self.rng_state = losses, checks or losses, several, None

    def start(self, parameters):
        return parameters

    def epoch(self, parameters, learning_rate):
        e = int(parameters[0][0][0, 0])
        return ((np.full((1, 1), e + 1.0),), None, None), self.losses[e], self.checks[e]

    def read(self, epoch_run):
        return float(epoch_run[2])

    def epochs(self, parameters, learning_rate, count):
        e = int(parameters[0][0][0, 0])
        values = self.losses[e:e + count]
        finite = all(math.isfinite(v) for v in [*values, *self.checks[e:e + count]])
        return ((np.full((1, 1), float(e + count)),), None, None), values, finite

    def rewind(self, rng_state):
        pass


def _held_after(driver):
    outcome = run(Outcome((np.zeros((1, 1)),), None), driver, Plan(epochs=10, learning_rate=0.1))
    return outcome.history, float(outcome.weights[0][0, 0])


@pytest.mark.parametrize("several", [False, True], ids=["epoch-by-epoch", "in-chunks-of-3"])
def test_a_non_finite_loss_holds_the_start_of_the_last_finite_epoch(several):
    """Epoch 3's loss — that of the parameters epoch 2 left — is inf: the parameters epoch 2 started from (w = 2,
    what epoch 1 left) are held. In chunks of 3, epochs 0-2 ran as one call: epoch 2's start is run again."""
    history, held = _held_after(CountingEpochs([1.0, 1.0, 1.0, math.inf, 1.0], several=several))
    assert history.diverged_at == 3 and history.epochs == 3 and history.kept_epoch == 1 and held == 2


@pytest.mark.parametrize("several", [False, True], ids=["epoch-by-epoch", "in-chunks-of-3"])
def test_non_finite_updates_of_a_finite_loss_hold_the_parameters_it_was_measured_at(several):
    """Epoch 3's loss is finite but its updated parameters are not: the parameters it started from are held."""
    checks = [1.0, 1.0, 1.0, math.nan, 1.0]
    history, held = _held_after(CountingEpochs([1.0] * 5, checks, several=several))
    assert history.diverged_at == 3 and history.kept_epoch == 2 and held == 3


def test_a_second_epoch_with_a_non_finite_loss_holds_the_starting_parameters():
    history, held = _held_after(CountingEpochs([1.0, math.inf, 1.0]))
    assert history.diverged_at == 1 and history.kept_epoch is None and held == 0
