"""Run `zoo.training.train` for the resume test: python _train_resume_worker.py OUT [--resume]."""

import sys

import torch

torch.set_num_threads(1)

from _train_models import Plugin  # noqa: E402

import zoo  # noqa: E402
from zoo import train  # noqa: E402

SETTINGS = dict(epochs=3, batch_size=32, lr=0.02, seed=3, checkpoint_every=3, progress=False, device="cpu")

if __name__ == "__main__":
    zoo.register_plugin(Plugin(), "resume-test")
    train(
        "noisy-independent",
        "digits",
        sys.argv[1],
        settings=SETTINGS,
        resume="--resume" in sys.argv,
        dataset_options={"limit": 320},
    )
