"""The contract kit must catch broken models, or it proves nothing."""

import pytest
import torch
from pydantic import Field
from torch import nn

import zoo
from zoo.testing import check_autoregressive, check_model, check_normalised, receptive_field


class LeakyConfig(zoo.ModelConfig):
    leak: str = "none"


class Leaky(zoo.AutoregressiveModel):
    """A deliberately broken model: its logits can see the pixel they predict."""

    architecture = "leaky-test"
    config_class = LeakyConfig

    def __init__(self, config):
        super().__init__(config)
        C, L = config.channels, config.levels
        self.net = nn.Conv2d(C, C * L, 3, padding=1)

    def logits(self, x):
        h = self.net(self.scale(x))
        if self.config.leak == "none":
            h = h * 0  # sees nothing: trivially causal
        B, _, H, W = x.shape
        return h.view(B, self.config.channels, self.config.levels, H, W).transpose(1, 2)


def test_kit_passes_the_builtin_baseline():
    check_model("independent", channels=3, height=3, width=3, levels=3)
    check_model("independent", channels=1, height=2, width=2, levels=2)


def test_kit_catches_a_leak():
    model = Leaky(LeakyConfig(channels=1, height=4, width=4, levels=2, leak="yes"))
    with pytest.raises(AssertionError, match=r"autoregressive property broken: .* pixel \(0, 0\)"):
        check_autoregressive(model)


def test_receptive_field_measures_the_3x3_neighbourhood():
    model = Leaky(LeakyConfig(channels=1, height=5, width=5, levels=2, leak="yes"))
    field = receptive_field(model, 2, 2)[0]
    assert field.sum() == 9 and field[1:4, 1:4].all()


def test_normalisation_check_catches_an_unnormalised_model():
    model = zoo.create("independent", channels=1, height=2, width=2, levels=2)
    check_normalised(model)
    model.log_prob = lambda x: torch.zeros(x.shape[0])  # every image probability 1
    with pytest.raises(AssertionError, match="sum to 16"):
        check_normalised(model)


def test_kit_catches_a_model_that_accepts_bad_input():
    class Lax(zoo.AutoregressiveModel):
        architecture = "lax-test"

        def __init__(self, config):
            super().__init__(config)
            self.table = nn.Parameter(torch.zeros(config.levels, *config.shape))

        def check_images(self, x, name="x"):
            return x.long()  # no checks at all

        def logits(self, x):
            return self.table.expand(x.shape[0], *self.table.shape)

    with pytest.raises(AssertionError, match="float tensor"):
        check_model(Lax(zoo.ModelConfig(height=2, width=2, levels=2)))


def test_kit_catches_an_inexact_fast_sampler():
    from zoo.testing import check_fast_sampler

    class OffByOne:
        def __init__(self, model):
            self.table = model.logit_table

        def start(self, x):
            pass

        def logits_at(self, x, i, j, c):  # reads the neighbour's logits: a wrong cache index
            return self.table[:, c, i, (j + 1) % self.table.shape[-1]].expand(x.shape[0], -1)

    model = zoo.create("independent", height=3, width=3, levels=4)
    with torch.no_grad():
        model.logit_table.normal_()
    check_fast_sampler(model)  # the built-in constant sampler is exact
    model.incremental_sampler = lambda n: OffByOne(model)
    with pytest.raises(AssertionError, match=r"fast logits of channel 0 at pixel \(0, 0\) differ"):
        check_fast_sampler(model)


class GreedyConfig(zoo.ModelConfig):
    size: int = Field(4, ge=1, le=10**9)


def _greedy_plugin(build):
    class Greedy(zoo.AutoregressiveModel):
        """Builds its table on the CPU whatever device it is asked for (``build``)."""

        architecture = "greedy-test"
        config_class = GreedyConfig

        def __init__(self, config):
            super().__init__(config)
            self.table = nn.Parameter(build(config))

        def logits(self, x):
            return self.table[: x.numel() * 0 + 1].expand(x.shape[0], self.config.levels, *self.config.shape)

    class Plugin:
        @zoo.hookimpl
        def zoo_register_models(self, register):
            register(Greedy)

    return Plugin()


@pytest.mark.parametrize(
    "build, caught",
    [
        (lambda c: torch.zeros(c.size, device="cpu"), "made a tensor of 4,000,000,000 bytes"),
        (lambda c: torch.zeros(c.size) + float(torch.zeros(1).sum()), None),  # reads a value: refused unbuilt
    ],
)
def test_hostile_folder_check_catches_a_model_that_allocates(build, caught, tmp_path):
    """A constructor that ignores the meta device would turn a hostile config into a real allocation; one that
    reads tensor values cannot be sized, so load_folder refuses it without building it for real."""
    from zoo.testing import check_hostile_folder

    name = zoo.register_plugin(_greedy_plugin(build), "greedy-test-plugin")
    try:
        small, huge = {"height": 2, "width": 2, "levels": 2}, {"height": 2, "width": 2, "levels": 2, "size": 10**9}
        if caught:
            with pytest.raises(AssertionError, match=caught):
                check_hostile_folder("greedy-test", small, huge)
        else:
            with pytest.raises(AssertionError, match="cannot be built on the meta device"):
                check_hostile_folder("greedy-test", small, huge)
            folder = zoo.save_pretrained(zoo.create("greedy-test", **small), tmp_path / "m")
            with pytest.raises(zoo.WeightsError, match=r"config.json: cannot size greedy-test .* meta device"):
                zoo.load_folder(folder)  # refused in one line, never built for real
    finally:
        zoo.unregister_plugin(name)


class OvercountConfig(zoo.ModelConfig):
    estimator: str | None = None  # what nll_estimator says: None, an exact likelihood


class Overcount(zoo.Model):
    """A per-pixel categorical model that adds log 8 to every image's log-probability: they sum to 8."""

    architecture = "overcount-test"
    config_class = OvercountConfig

    def __init__(self, config):
        super().__init__(config)
        self.table = nn.Parameter(torch.zeros(config.levels, *config.shape))

    @classmethod
    def nll_estimator(cls, config):
        return config.estimator

    def log_prob(self, x, labels=None):
        x = self.check_images(x)
        self.check_labels(labels, len(x))
        logp = torch.log_softmax(self.table, 0).unsqueeze(0).expand(len(x), *self.table.shape)
        return logp.gather(1, x.unsqueeze(1)).flatten(1).sum(1) + torch.log(torch.tensor(8.0))

    def loss(self, x, labels=None):
        return -self.log_prob(x, labels).mean()

    def sample(self, n, generator=None, temperature=1.0, labels=None):
        self.check_labels(labels, n)
        return torch.randint(0, self.config.levels, (n, *self.config.shape), generator=generator)


@pytest.fixture
def overcount():
    class Plugin:
        @zoo.hookimpl
        def zoo_register_models(self, register):
            register(Overcount)

    name = zoo.register_plugin(Plugin(), "overcount-test-plugin")
    yield
    zoo.unregister_plugin(name)


@pytest.mark.parametrize(
    "estimator, caught",
    [(None, r"probabilities over all 16 images sum to 8\.0000\d\d, not 1"), ("made-up k=1", "sums to 8.0000")],
)
def test_kit_fails_a_model_that_is_not_a_model(overcount, estimator, caught):
    """Not autoregressive, every image below probability 1, finite, trainable, but the probabilities of all
    images sum to 8: check_model must fail it, whether it claims an exact likelihood or a bound."""
    with pytest.raises(AssertionError, match=caught):
        check_model("overcount-test", height=2, width=2, levels=2, estimator=estimator)


def test_bound_mass_allows_a_bound_below_one_and_monte_carlo_noise():
    from zoo.testing import check_bound_mass

    model = zoo.create("independent", height=2, width=2, levels=2)
    exact = model.log_prob
    model.log_prob = lambda x: exact(x) - 0.5  # a deterministic bound, exp(-0.5) of the mass
    assert check_bound_mass(model) == pytest.approx(0.6065, abs=1e-4)
    model.log_prob = lambda x: exact(x) + 0.3 * torch.randn(len(x)) - 0.045  # unbiased noise of exp: mass 1
    assert abs(check_bound_mass(model) - 1.0) < 0.1


def test_kit_fails_a_model_that_takes_labels_it_has_no_use_for():
    from zoo.testing import check_refuses_labels

    model = zoo.create("independent", height=2, width=2, levels=2)
    check_refuses_labels(model)
    model.check_labels = lambda labels, n: None  # accepts anything
    with pytest.raises(AssertionError, match=r"unconditional, yet log_prob\(labels=...\) accepted labels"):
        check_refuses_labels(model)


def test_check_fused_path_catches_a_switch_that_does_nothing_and_one_that_changes_the_nll():
    from zoo.testing import check_fused_path

    torch.manual_seed(0)
    model = zoo.create("pixelcnn", height=4, width=4, levels=2, hidden=8, layers=1).double()
    x = torch.randint(0, 2, (3, 1, 4, 4))
    with pytest.raises(AssertionError, match="both runs took one path"):
        check_fused_path(model, x, lambda on: None)  # the same path measured twice
    first = next(model.parameters())

    def drifting(on):  # a "fused" path that is not the same function: the NLL moves
        with torch.no_grad():
            first.add_(0.0 if on else 0.1)

    with pytest.raises(AssertionError):
        check_fused_path(model, x, drifting, grads=False)


class LoopyConfig(zoo.ModelConfig):
    count: int = Field(1, ge=1)  # no upper bound: the bug the kit must find


def test_huge_config_raises_unbounded_fields_too():
    from zoo.testing import huge_config

    name = zoo.register_plugin(_loopy_plugin(), "loopy-test-plugin")
    try:
        assert huge_config("loopy-test", {"height": 2, "width": 2, "levels": 2})["count"] == 10**9
    finally:
        zoo.unregister_plugin(name)


def _loopy_plugin():
    class Loopy(zoo.AutoregressiveModel):
        """Draws a small tensor per ``count`` in its constructor, as MADE drew its masks' degrees."""

        architecture = "loopy-test"
        config_class = LoopyConfig

        def __init__(self, config):
            super().__init__(config)
            self.table = nn.Parameter(torch.zeros(config.levels))
            self.drawn = [torch.randint(0, 2, (4,), device="cpu") for _ in range(config.count)]

        def logits(self, x):
            return self.table[None, :, None, None, None].expand(x.shape[0], -1, *self.config.shape)

    class Plugin:
        @zoo.hookimpl
        def zoo_register_models(self, register):
            register(Loopy)

    return Plugin()


def test_hostile_folder_check_catches_a_constructor_that_loops_over_an_unbounded_field():
    from zoo.testing import check_hostile_folder

    name = zoo.register_plugin(_loopy_plugin(), "loopy-test-plugin")
    try:
        with pytest.raises(AssertionError, match="meta device took more than"):
            check_hostile_folder("loopy-test", {"height": 2, "width": 2, "levels": 2}, budget_seconds=0.5)
    finally:
        zoo.unregister_plugin(name)
