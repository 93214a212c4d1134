"""``left-context``: each pixel is predicted from the pixels to its left in the same row."""

from pydantic import Field
from torch import nn

import zoo
from zoo.layers import MaskedConv2d, logits_from_features


class LeftContextConfig(zoo.ModelConfig):
    hidden: int = Field(12, ge=1, description="feature maps (a multiple of channels)")
    width_of_view: int = Field(5, ge=3, description="odd kernel width along the row")

    colour_grouped = ("hidden",)  # checked: hidden must split into one group per colour


class LeftContext(zoo.AutoregressiveModel):
    """Predicts each pixel from up to width_of_view // 2 pixels on its left."""

    architecture = "left-context"
    config_class = LeftContextConfig

    def __init__(self, config: LeftContextConfig):
        super().__init__(config)
        C, h, L = config.channels, config.hidden, config.levels
        self.net = nn.Sequential(
            MaskedConv2d(C, h, (1, config.width_of_view), "A", colours=C),
            nn.ReLU(),
            MaskedConv2d(h, C * L, 1, "B", colours=C),
        )

    def logits(self, x, labels=None):  # unconditional: the base class never passes labels
        out = self.net(self.scale(x))  # always build the input with self.scale
        return logits_from_features(out, self.config.channels, self.config.levels)
