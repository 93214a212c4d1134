"""zoo plugin ``fvsbn``: the fully visible sigmoid belief net and its pretrained weights."""

from __future__ import annotations

import zoo

from .fvsbn import FVSBN, FVSBNConfig

__all__ = ["FVSBN", "FVSBNConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(FVSBN, description="Fully visible sigmoid belief net (Frey 1998): a logistic regression per dimension")
