"""What both VAEs share: the config, the encoder q(z|x) (MLP, or conv), the bounds and the latent tools.

A subclass picks the decoder p(x|z): it says how many numbers per pixel the decoder MLP
emits (``outputs_per_pixel``) and implements ``decode``, ``log_likelihood``, ``draw`` and ``mode``.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import ClassVar, Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import nn

import zoo
from zoo.bounds import iwae_estimator
from zoo.sampling import check_count, check_temperature

from .bounds import elbo_terms, iwae_bound, randn
from .conv import ConvDecoder, ConvEncoder

__all__ = ["VAEConfig", "VAE", "mlp", "TRAVERSALS_FIGURE"]

TRAVERSALS_FIGURE = "figure-traversals.png"  # the card's latent-traversal grid (zoo.folders.MODEL_FIGURES)


class VAEConfig(zoo.ModelConfig):
    """Kingma & Welling's MLP VAE with a standard normal prior."""

    loss_settings = ("objective", "samples", "estimator", "beta", "eval_samples")  # a fine-tune may change these

    latent: int = Field(8, ge=1, le=65536, description="size d of the latent z")
    hidden: list[int] = Field(
        default_factory=lambda: [128],
        max_length=32,
        description="hidden widths of the encoder MLP (the decoder mirrors them)",
    )
    activation: Literal["relu", "tanh"] = Field("relu", description="nonlinearity of both MLPs")
    objective: Literal["elbo", "iwae"] = Field(
        "elbo",
        description="training loss: elbo (the SGVB estimator of the ELBO) or iwae (the k-sample importance-weighted "
        "bound of Burda et al., k = samples)",
    )
    samples: int = Field(
        1, ge=1, le=10_000, description="latent samples per image in the training loss: L of the ELBO, k of the IWAE"
    )
    estimator: Literal["A", "B"] = Field(
        "B", description="objective=elbo: SGVB estimator A (Monte Carlo KL) or B (closed-form KL)"
    )
    beta: float = Field(
        1.0,
        ge=0.0,
        le=1000.0,
        description="weight of the KL term in the training ELBO (the β-VAE; 1 is the plain VAE); "
        "log_prob stays the true bound",
    )
    eval_samples: int = Field(
        500, ge=1, le=1_000_000, description="default k of the importance-weighted bound in log_prob"
    )
    network: Literal["mlp", "conv"] = Field("mlp", description="mlp (the paper) or conv: stride-2 convs around the MLP")
    conv_channels: list[int] = Field(
        default_factory=lambda: [32, 64],
        max_length=16,
        description="network=conv: channels of each stride-2 conv (the decoder mirrors them)",
    )

    @model_validator(mode="after")
    def _beta_is_an_elbo_weight(self):
        if self.objective == "iwae" and self.beta != 1.0:
            raise ValueError(
                f"beta={self.beta} weights the KL term of the ELBO; objective=iwae has no separate KL term "
                "(use objective=elbo for a β-VAE, or beta=1)"
            )
        return self

    @field_validator("hidden", "conv_channels")
    @classmethod
    def _positive_widths(cls, v: list[int]) -> list[int]:
        if any(w < 1 for w in v):
            raise ValueError(f"widths must be >= 1, got {v}")
        if any(w > 65536 for w in v):  # keeps an untrusted config.json within memory
            raise ValueError(f"widths must be <= 65536, got {v}")
        return v


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers through ``sizes`` with the activation between them (none after the last)."""
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(act())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


class VAE(zoo.Model):
    """Base of the VAEs; ``log_prob`` is the importance-weighted lower bound, not the exact likelihood."""

    config_class: ClassVar[type[VAEConfig]] = VAEConfig
    papers = ("1312.6114", "1509.00519")  # Auto-Encoding Variational Bayes; the importance-weighted bound (IWAE)

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        D, d, act = config.dims, config.latent, config.activation
        k = self.outputs_per_pixel(config)
        if config.network == "mlp":
            self.encoder = mlp([D, *config.hidden, 2 * d], act)
            self.decoder = mlp([d, *reversed(config.hidden), k * D], act)
        else:
            if not config.conv_channels:
                raise ValueError("network=conv needs at least one entry in conv_channels")
            flat = ConvDecoder.stem_width(config.shape, config.conv_channels)
            self.encoder = ConvEncoder(config.shape, config.conv_channels, mlp([flat, *config.hidden, 2 * d], act), act)
            stem = mlp([d, *reversed(config.hidden), flat], act)
            self.decoder = ConvDecoder(config.shape, config.conv_channels, stem, k, act)

    @classmethod
    def outputs_per_pixel(cls, config: VAEConfig) -> int:
        """How many numbers per pixel the decoder MLP emits."""
        return 1

    # -- the decoder, per subclass ------------------------------------------
    @abc.abstractmethod
    def decode(self, z: torch.Tensor):
        """Parameters of p(x|z) for latents ``(M, d)``, each of shape ``(M, C, H, W)``."""

    @abc.abstractmethod
    def log_likelihood(self, x: torch.Tensor, params) -> torch.Tensor:
        """log p(x|z) in nats per image ``(M,)`` for int64 images ``x`` ``(M, C, H, W)``."""

    @abc.abstractmethod
    def draw(self, params, generator: torch.Generator | None, temperature: float) -> torch.Tensor:
        """Integer images sampled from p(x|z) (temperature scales the pixel noise)."""

    @abc.abstractmethod
    def mode(self, params) -> torch.Tensor:
        """The most representative integer image of p(x|z), used by reconstruct and interpolate."""

    @abc.abstractmethod
    def mean_intensity(self, params) -> torch.Tensor:
        """The image of p(x|z) as floats in [0, 1] (a Bernoulli's probabilities), for figures that show grey."""

    # -- encoder and bounds ---------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of q(z|x), each ``(B, d)``."""
        x = self.check_images(x)
        h = self.encoder(self.scale(x).flatten(1))
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar

    def _log_lik_fn(self, x: torch.Tensor):
        """``z (N, B, d) -> log p(x|z) (N, B)`` for checked images ``x`` ``(B, C, H, W)``."""

        def log_lik(z: torch.Tensor) -> torch.Tensor:
            N, B, d = z.shape
            params = self.decode(z.reshape(N * B, d))
            xs = x.unsqueeze(0).expand(N, *x.shape).reshape(N * B, *x.shape[1:])
            return self.log_likelihood(xs, params).view(N, B)

        return log_lik

    def elbo(
        self,
        x: torch.Tensor,
        samples: int | None = None,
        estimator: str | None = None,
        generator: torch.Generator | None = None,
        beta: float = 1.0,
    ) -> torch.Tensor:
        """Per-image ELBO ``(B,)`` in nats (the config's L and estimator unless given).

        ``beta`` weights the KL term (1, the true ELBO, unless given: the config's ``beta`` enters
        only through :meth:`loss`).
        """
        x = self.check_images(x)
        mu, logvar = self.encode(x)
        terms = elbo_terms(
            self._log_lik_fn(x),
            mu,
            logvar,
            samples or self.config.samples,
            estimator or self.config.estimator,
            generator,
            beta,
        )
        return terms.mean(0)

    def iwae(self, x: torch.Tensor, k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-image k-sample importance-weighted bound ``(B,)`` in nats, with gradients (k: the config's samples).

        All k latents are drawn at once and reparameterized, so the gradient is Burda et al.'s: the
        self-normalized importance weights times each sample's gradient of log p(x, z) - log q(z|x).
        At k = 1 it is the estimator-A ELBO on the same draw, value and gradient.
        """
        x = self.check_images(x)
        mu, logvar = self.encode(x)
        k = k or self.config.samples
        return iwae_bound(self._log_lik_fn(x), mu, logvar, k, chunk=k, generator=generator)

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The training loss, mean nats per image: the negative ELBO (KL weighted by ``beta``), or with
        ``objective="iwae"`` the negative k-sample bound. The VAEs are unconditional: ``labels`` must be None."""
        self.check_labels(labels, 0)
        if self.config.objective == "iwae":
            return -self.iwae(x).mean()
        return -self.elbo(x, beta=self.config.beta).mean()

    @classmethod
    def loss_estimator(cls, config: VAEConfig) -> str:
        """What :meth:`loss` estimates, for the training curve's legend."""
        if config.objective == "iwae":
            return f"negative IWAE bound, k={config.samples}"
        if config.beta != 1.0:
            return f"negative beta-ELBO, L={config.samples}, beta={config.beta:g}"
        return f"negative ELBO, L={config.samples}"

    @classmethod
    def nll_estimator(cls, config: VAEConfig) -> str:
        """``log_prob`` is the importance-weighted bound with ``eval_samples`` samples."""
        return iwae_estimator(config.eval_samples)

    @torch.no_grad()
    def log_prob(
        self,
        x: torch.Tensor,
        k: int | None = None,
        generator: torch.Generator | None = None,
        chunk: int = 100,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Importance-weighted lower bound on log p(x), ``(B,)`` nats, with k samples (config default 500).

        A lower bound for every k that tightens as k grows; k = 1 is the ELBO. It is a
        random estimate: pass ``generator`` for a reproducible number.
        """
        x = self.check_images(x)
        self.check_labels(labels, len(x))
        mu, logvar = self.encode(x)
        return iwae_bound(self._log_lik_fn(x), mu, logvar, k or self.config.eval_samples, chunk, generator)

    @torch.no_grad()
    def metrics(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``{"neg_elbo": (B,)}``: minus the ELBO in nats, an upper bound on the NLL.

        Estimator B with 10 latent samples per image: the same expectation as training's
        ELBO, with less Monte Carlo noise in the reported number.
        """
        return {"neg_elbo": -self.elbo(x, samples=10, estimator="B", generator=generator)}

    # -- generation and the latent space -------------------------------------
    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        mean: bool = False,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``n`` images: z ~ N(0, I), then x ~ p(x|z) (or the mode of p(x|z) when ``mean``).

        ``temperature`` scales the pixel noise of p(x|z), not the prior.
        """
        check_count(n)
        check_temperature(temperature)
        self.check_labels(labels, n)
        p = next(self.parameters())
        z = randn((n, self.config.latent), p, generator)
        params = self.decode(z)
        return self.mode(params) if mean else self.draw(params, generator, temperature)

    @torch.no_grad()
    def reconstruct(
        self, x: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Decode the posterior mean of each image: the mode of p(x|mu), or a draw when ``sample``."""
        mu, _ = self.encode(x)
        params = self.decode(mu)
        return self.draw(params, generator, 1.0) if sample else self.mode(params)

    @torch.no_grad()
    def interpolate(self, x0: torch.Tensor, x1: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """``(B, steps, C, H, W)`` integer images decoded along the straight line between posterior means."""
        if not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
        x0, x1 = self.check_images(x0, "x0"), self.check_images(x1, "x1")
        if x0.shape != x1.shape:
            raise zoo.ImageError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
        mu0, _ = self.encode(x0)
        mu1, _ = self.encode(x1)
        t = torch.linspace(0.0, 1.0, steps, device=mu0.device).view(1, steps, 1)
        z = (1 - t) * mu0.unsqueeze(1) + t * mu1.unsqueeze(1)  # (B, steps, d)
        images = self.mode(self.decode(z.flatten(0, 1)))
        return images.view(x0.shape[0], steps, *x0.shape[1:])

    @torch.no_grad()
    def traverse(
        self, dims: list[int] | None = None, span: float = 3.0, steps: int = 9, center: torch.Tensor | None = None
    ) -> tuple[list[int], torch.Tensor]:
        """Latent traversals: vary one latent at a time over ``[-span, span]`` around ``center``.

        ``center`` is the point the others stay at, ``(d,)`` (the prior mean, zero, by default). Returns
        the dims varied and ``(len(dims), steps, C, H, W)`` floats in [0, 1], the mean image of p(x|z) at
        each point. Without ``dims``, up to 10 latents are shown, those whose traversal changes the image
        most (total absolute change of the mean image between neighbouring steps): in a trained VAE most
        latents are inactive and decode to the same image, and a grid of them would show nothing.
        """
        d = self.config.latent
        if not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
        if not span > 0:
            raise ValueError(f"span must be > 0, got {span!r}")
        p = next(self.parameters())
        center = torch.zeros(d, dtype=p.dtype, device=p.device) if center is None else center.to(p)
        if center.shape != (d,):
            raise ValueError(f"center must have shape ({d},), got {tuple(center.shape)}")
        chosen = list(range(d)) if dims is None else list(dims)
        if not chosen or any(not 0 <= i < d for i in chosen):
            raise ValueError(f"dims must be latent indices in 0..{d - 1}, got {dims!r}")
        values = torch.linspace(-span, span, steps, dtype=p.dtype, device=p.device)
        z = center.repeat(len(chosen), steps, 1)  # (n, steps, d)
        for row, i in enumerate(chosen):
            z[row, :, i] = center[i] + values
        images = self.mean_intensity(self.decode(z.flatten(0, 1))).view(len(chosen), steps, *self.config.shape)
        if dims is None:
            change = (images[:, 1:] - images[:, :-1]).abs().flatten(1).sum(1)
            order = change.argsort(descending=True, stable=True)[:10]
            chosen, images = [chosen[i] for i in order.tolist()], images[order]
        return chosen, images

    def card_figures(self, folder, name: str, seed: int = 0) -> list[tuple[str, str, str]]:
        """The latent-traversal grid (:meth:`traverse`), written to ``figure-traversals.png``."""
        from zoo.figures import labelled_grid_figure

        span, steps = 3.0, 9
        dims, images = self.traverse(span=span, steps=steps)
        rows = [(f"z{i}", (row * 255).round().long()) for i, row in zip(dims, images)]
        beta = f", beta={self.config.beta:g}" if self.config.beta != 1.0 else ""
        title = f"{name}{beta}: one latent from -{span:g} to {span:g}, the rest at the prior mean"
        labelled_grid_figure(rows, 256, Path(folder) / TRAVERSALS_FIGURE, title)
        caption = (
            f"Latent traversals: each row varies one latent z_i over {steps} evenly spaced values from -{span:g} "
            f"to {span:g} (prior standard deviations), the other {self.config.latent - 1} at the prior mean 0, "
            "and shows the decoder's mean image (grey = pixel probability). The rows are the latents whose "
            "traversal changes the image most (at most 10), most first; the rest decode to almost the same image "
            "(inactive units). Deterministic: no random draw."
        )
        return [(TRAVERSALS_FIGURE, "Latent traversals", caption)]
