"""zoo plugin ``nade``: the neural autoregressive distribution estimator and its pretrained weights."""

from __future__ import annotations

import zoo

from .nade import NADE, NADEConfig

__all__ = ["NADE", "NADEConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(NADE, description="NADE (Larochelle & Murray 2011): tied-weight autoregressive network, O(D·H) exact")
