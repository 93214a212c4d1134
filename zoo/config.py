"""The configuration every architecture's config extends: the image a model is built for.

A leaf module (pydantic only), so that the registry can check what a plugin registers
without importing the model classes that use it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ModelConfig"]


class ModelConfig(BaseModel):
    """The image a model is built for; architectures subclass this and add their own fields.

    Unknown fields are rejected, so a typo in ``--set`` or in a config.json is an error,
    never a silently ignored setting. Values are strict: an integer field takes an integer, not
    ``"4"`` or ``true`` (a pixelsnail with ``height: true`` loaded as one row), and a list a list.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    #: fields that count feature maps split into one group per colour (see :mod:`zoo.layers`)
    colour_grouped: ClassVar[tuple[str, ...]] = ()
    #: fields that change only what the model is trained or evaluated with (a VAE's objective, its k), never
    #: its parameters: a fine-tune (``zoo train NAME --set objective=iwae``) may set them
    loss_settings: ClassVar[tuple[str, ...]] = ()

    # Upper bounds: a config.json may come from anyone, and these sizes decide how much memory a
    # model takes. They sit far above every pixel model of the literature (3 x 256 x 256, 256 levels).
    channels: int = Field(1, ge=1, le=16, description="colour channels C (1 grey, 3 RGB)")
    height: int = Field(8, ge=1, le=1024, description="image height H in pixels")
    width: int = Field(8, ge=1, le=1024, description="image width W in pixels")
    levels: int = Field(17, ge=2, le=65536, description="intensity levels per channel (2 = binary)")

    #: most numbers one image's logits (levels x C x H x W) may hold: 3 x 1024 x 1024 x 256 fits
    max_logits: ClassVar[int] = 2**30

    @model_validator(mode="after")
    def _check_image_size(self):
        size = self.levels * self.channels * self.height * self.width
        if size > self.max_logits:
            raise ValueError(
                f"levels x channels x height x width = {size:,} is more than {self.max_logits:,} "
                "(one image's logits would not fit in memory)"
            )
        return self

    @model_validator(mode="after")
    def _check_colour_groups(self):
        for name in self.colour_grouped:
            value = getattr(self, name)
            if value % self.channels:
                raise ValueError(
                    f"{name}={value} must be a multiple of channels={self.channels} "
                    "(feature maps are split into one group per colour channel)"
                )
        return self

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    @property
    def dims(self) -> int:
        """Number of discrete dimensions C*H*W, the denominator of bits/dim."""
        return self.channels * self.height * self.width
