"""Tiny models for the trainer tests (imported by the tests and by the subprocess workers)."""

from __future__ import annotations

import os
import time

import torch

import zoo
from zoo.builtin.independent import Independent


class NoisyConfig(zoo.ModelConfig):
    hidden: int = 4


class Noisy(Independent):
    """The independent model, but its training loss weights images by random draws.

    The draws come from torch's global RNG, so resuming exactly needs the RNG state restored.
    ``ZOO_TEST_STEP_SLEEP`` (seconds) slows each step, so a test can kill a run mid-epoch.
    """

    architecture = "noisy-independent"
    config_class = NoisyConfig

    def loss(self, x):
        delay = float(os.environ.get("ZOO_TEST_STEP_SLEEP", "0"))
        if delay:
            time.sleep(delay)
        weights = 0.5 + torch.rand(x.shape[0], device=x.device)
        return -(self.log_prob(x) * weights).mean()


class Plugin:
    @zoo.hookimpl
    def zoo_register_models(self, register):
        register(Noisy)
