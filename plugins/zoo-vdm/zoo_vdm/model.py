"""``vdm``: a variational diffusion model (Kingma et al. 2021) on discrete images, with its bound as ``log_prob``.

The image's levels go to their centres in [-1, 1] (``Model.scale``), the forward process is
``q(z_t | x) = N(alpha_t x, sigma_t^2 I)`` with a noise schedule gamma(t) (:mod:`zoo_vdm.schedule`), and the
generative model runs it backwards from ``z_1 ~ N(0, I)`` to ``z_0``, then decodes each pixel over the
``levels`` bins (:func:`zoo_vdm.terms.decoder_logits`). ``log_prob`` is minus the variational bound of
:mod:`zoo_vdm.terms`: the prior KL at t=1 (closed form), the reconstruction at t=0 (one draw of z_0) and the
continuous-time diffusion loss averaged over ``eval_timesteps`` stratified times per image. It is a lower
bound on log p(x), random (seed it, or pass ``generator``), and the evaluator prints its NLL as an upper
bound, ``<= ... (VDM bound, 100 timesteps)``. ``log_prob(x, steps=T)`` is instead the bound of the T-step
model that ``sample(steps=T)`` draws from exactly; the continuous-time bound is its limit, and lower.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator

import zoo
from zoo.sampling import check_count, check_temperature

from .denoiser import Denoiser
from .schedule import Gamma, LearnedSchedule, LinearSchedule, alpha_sigma
from .terms import (
    continuous_diffusion,
    decoder_logits,
    discrete_diffusion,
    grid_denoiser,
    prior_kl,
    rand,
    randn,
    reconstruction,
    stratified_times,
)

__all__ = ["VDMConfig", "VDM"]

MAX_STEPS = 100_000
#: pixel x feature map numbers in one denoiser pass of log_prob (bounds its memory): on a CPU, passes that
#: stay in cache were fastest (2**20 took 5.0 s for 256 digits where 2**24 took 8.4 s); a GPU wants large ones
ROWS_PER_PASS = {"cpu": 1 << 20, "other": 1 << 26}


def _positive_int(value, name: str, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise zoo.ArgumentError(f"{name} must be an integer from 1 to {most}, got {value!r:.40}")
    return value


class VDMConfig(zoo.ModelConfig):
    """A VDM: its noise schedule, its denoiser's size, and how many times and steps its estimates use."""

    hidden: int = Field(64, ge=1, le=4096, description="feature maps of every block of the denoiser")
    # 64 a side is twice VDM's deepest U-Net; the bound keeps a hostile config.json's meta build small
    layers: int = Field(4, ge=1, le=64, description="residual blocks going down (the U-Net has 2 x layers + 2)")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout inside every residual block while training")
    fourier: bool = Field(True, description="Fourier features of z_t at the grid's scale as extra input maps")
    grid_skip: bool = Field(
        True, description="the network corrects the exact denoiser of independent uniform levels (else predicts eps)"
    )
    noise_schedule: Literal["linear", "learned"] = Field(
        "linear", description="linear: fixed linear log-SNR; learned: VDM's monotone network with learned ends"
    )
    gamma_min: float = Field(-13.3, ge=-30.0, le=30.0, description="gamma(0) = -log SNR at t=0 (learned: its start)")
    gamma_max: float = Field(5.0, ge=-30.0, le=30.0, description="gamma(1) = -log SNR at t=1 (learned: its start)")
    schedule_hidden: int = Field(1024, ge=1, le=65536, description="units of the learned schedule's monotone net")
    eval_timesteps: int = Field(
        100, ge=1, le=MAX_STEPS, description="stratified times per image of the diffusion loss in log_prob"
    )
    steps: int = Field(256, ge=1, le=MAX_STEPS, description="ancestral steps of sample and complete")
    num_classes: int | None = Field(None, ge=1, le=100_000, description="classes of a class-conditional model")

    @model_validator(mode="after")
    def _schedule_rises(self):
        if not self.gamma_min < self.gamma_max:
            raise ValueError(
                f"gamma_min={self.gamma_min} must be below gamma_max={self.gamma_max} (noise grows with t)"
            )
        return self


class VDM(zoo.Model):
    """Continuous-time variational diffusion model (VDM) with a discrete-data decoder and a residual U-Net."""

    architecture = "vdm"
    config_class = VDMConfig
    papers = ("2107.00630",)  # Variational Diffusion Models

    def __init__(self, config: VDMConfig):
        super().__init__(config)
        if config.noise_schedule == "learned":
            self.schedule = LearnedSchedule(config.gamma_min, config.gamma_max, config.schedule_hidden)
        else:
            self.schedule = LinearSchedule(config.gamma_min, config.gamma_max)
        self.denoiser = Denoiser(
            config.channels,
            config.levels,
            config.hidden,
            config.layers,
            fourier=config.fourier,
            dropout=config.dropout,
            num_classes=config.num_classes,
        )

    @classmethod
    def nll_estimator(cls, config: VDMConfig) -> str:
        """``log_prob`` is the VDM bound with ``eval_timesteps`` Monte Carlo times per image."""
        return f"VDM bound, {config.eval_timesteps} timesteps"

    # -- the network ------------------------------------------------------------
    def eps_hat(self, z: torch.Tensor, gamma: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The predicted noise of ``z`` ``(B, C, H, W)`` at noise levels ``gamma`` ``(B,)``."""
        cfg = self.config
        position = (gamma - cfg.gamma_min) / (cfg.gamma_max - cfg.gamma_min)
        net = self.dtype  # the network runs in the parameters' dtype, the bound's arithmetic in at least float32
        out = self.denoiser(z.to(net), position.to(net), labels).to(z.dtype)
        if cfg.grid_skip:
            out = out + grid_denoiser(z, gamma.to(z.dtype).view(-1, 1, 1, 1), cfg.levels)
        return out

    def _work(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` scaled to [-1, 1] in the dtype of the bound's and the sampler's arithmetic: the parameters'
        dtype, at least float32 (a bfloat16 model's times and noise levels would be too coarse)."""
        return self.scale(x).to(torch.promote_types(self.dtype, torch.float32))

    def _seeded(self, seed: int) -> torch.Generator:
        """A fresh generator on the model's device seeded with ``seed``: what the bound's and the metrics'
        draws come from when the caller passes none, so the same images give the same figures every time."""
        return torch.Generator(device=self.device).manual_seed(seed)

    def _diffuse(self, scaled: torch.Tensor, gamma: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        alpha, sigma = alpha_sigma(gamma.view(-1, 1, 1, 1))
        return alpha * scaled + sigma * eps

    def _ends_terms(self, x: torch.Tensor, scaled: torch.Tensor, generator) -> dict[str, torch.Tensor]:
        """The prior KL at t=1 and the reconstruction term at t=0 (one z_0 per image), ``(B,)`` nats each."""
        gamma_0, gamma_1 = self.schedule.ends(scaled)
        alpha_0, sigma_0 = alpha_sigma(gamma_0)
        z_0 = alpha_0 * scaled + sigma_0 * randn(scaled.shape, scaled, generator)
        return {
            "prior": prior_kl(scaled, gamma_1),
            "reconstruction": reconstruction(x, z_0, gamma_0, self.config.levels),
        }

    def _diffusion(self, x_scaled, t, labels, generator, steps: int | None) -> tuple[torch.Tensor, Gamma]:
        """One draw of the diffusion loss per row at times ``t`` ``(N,)``: continuous time, or ``steps`` steps."""
        if steps is not None:
            i = torch.floor(t * steps).clamp(0, steps - 1) + 1  # i uniform in 1..T (stratified when t is)
            t = i / steps  # t_i = i / T
        gamma = self.schedule(t)
        eps = randn(x_scaled.shape, x_scaled, generator)
        eps_hat = self.eps_hat(self._diffuse(x_scaled, gamma.value, eps), gamma.value, labels)
        if steps is None:
            return continuous_diffusion(eps, eps_hat, gamma.slope), gamma
        gamma_s = self.schedule(t - 1.0 / steps).value
        return discrete_diffusion(eps, eps_hat, gamma.value, gamma_s, steps), gamma

    # -- the bound ------------------------------------------------------------------
    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative bound in nats per image: one time per image, the batch's times stratified over [0, 1).

        With the learned schedule, the schedule's interior gets the gradient of the diffusion loss's
        second moment instead (see :meth:`LearnedSchedule.minimise_variance`).
        """
        x = self.check_images(x)
        labels = self.check_labels(labels, len(x))
        scaled = self._work(x)
        t = stratified_times(1, len(x), scaled).view(-1)
        diffusion, gamma = self._diffusion(scaled, t, labels, None, None)
        if isinstance(self.schedule, LearnedSchedule) and torch.is_grad_enabled():
            LearnedSchedule.minimise_variance(gamma, diffusion)
        ends = self._ends_terms(x, scaled, None)
        return (ends["prior"] + ends["reconstruction"] + diffusion).mean()

    def terms(
        self,
        x: torch.Tensor,
        timesteps: int | None = None,
        steps: int | None = None,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The bound's three terms per image, ``(B,)`` nats each: ``prior``, ``reconstruction``, ``diffusion``.

        ``diffusion`` is the mean over ``timesteps`` (default ``eval_timesteps``) stratified times per image,
        of the continuous-time loss, or with ``steps`` of the ``steps``-step model's loss. The draws come from
        ``generator``, by default a fresh one seeded with 0 on the model's device: the same images in the same
        batches give the same figures every time (``zoo eval`` reproduces a card exactly on the same device).
        """
        x = self.check_images(x)
        generator = generator or self._seeded(0)
        labels = self.check_labels(labels, len(x))
        timesteps = _positive_int(
            self.config.eval_timesteps if timesteps is None else timesteps, "timesteps", MAX_STEPS
        )
        if steps is not None:
            _positive_int(steps, "steps", MAX_STEPS)
        scaled = self._work(x)
        ends = self._ends_terms(x, scaled, generator)
        t = stratified_times(len(x), timesteps, scaled, generator)  # (B, timesteps)
        rows = t.numel()
        budget = ROWS_PER_PASS["cpu" if scaled.device.type == "cpu" else "other"]
        per_pass = max(1, budget // (self.config.dims * self.config.hidden))
        total = torch.zeros(rows, dtype=scaled.dtype, device=scaled.device)
        image = torch.arange(len(x), device=scaled.device).repeat_interleave(timesteps)
        flat = t.reshape(-1)
        for start in range(0, rows, per_pass):
            part = image[start : start + per_pass]
            lab = None if labels is None else labels[part]
            total[start : start + per_pass] = self._diffusion(
                scaled[part], flat[start : start + per_pass], lab, generator, steps
            )[0]
        diffusion = total.view(len(x), timesteps).mean(1)
        return {**ends, "diffusion": diffusion}

    @torch.no_grad()
    def log_prob(
        self,
        x: torch.Tensor,
        timesteps: int | None = None,
        steps: int | None = None,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Minus the VDM bound, ``(B,)`` nats: a lower bound on log p(x), estimated by Monte Carlo (see :meth:`terms`:
        the draws are seeded, so the same call gives the same figure unless ``generator`` says otherwise).

        ``timesteps`` (default ``eval_timesteps``) stratified times per image estimate the diffusion loss;
        ``steps=T`` bounds the T-step model that ``sample(steps=T)`` draws from (default: continuous time).
        """
        terms = self.terms(x, timesteps=timesteps, steps=steps, generator=generator, labels=labels)
        return -(terms["prior"] + terms["reconstruction"] + terms["diffusion"])

    @torch.no_grad()
    def metrics(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The bound's two cheap terms per image in nats, ``prior`` and ``reconstruction`` (a draw of its own),
        which the evaluator reports beside the NLL bound; the diffusion term is the bound less these two.
        Not the diffusion term itself: that would run the denoiser ``eval_timesteps`` times per image again."""
        x = self.check_images(x)
        self.check_labels(labels, len(x))
        return self._ends_terms(x, self._work(x), self._seeded(1))

    # -- generation -----------------------------------------------------------------
    def _step(self, z, t, s, labels, generator, temperature):
        """One ancestral step z_t -> z_s ~ p(z_s | z_t) = q(z_s | z_t, x = x_hat(z_t)), for scalar times s < t."""
        g_t, g_s = self.schedule(t.expand(len(z))).value, self.schedule(s.expand(len(z))).value
        eps_hat = self.eps_hat(z, g_t, labels)
        g_t, g_s = g_t.view(-1, 1, 1, 1), g_s.view(-1, 1, 1, 1)
        (alpha_t, sigma_t), (alpha_s, sigma_s) = alpha_sigma(g_t), alpha_sigma(g_s)
        c = -torch.expm1(g_s - g_t)  # 1 - SNR(t) / SNR(s)
        mean = alpha_s / alpha_t * (z - c * sigma_t * eps_hat)
        return mean + temperature * (c.sqrt() * sigma_s) * randn(z.shape, z, generator)

    def _renoise(self, z_s, t, s, generator):
        """Forward again from s to t: z_t ~ q(z_t | z_s) (RePaint's resampling)."""
        g_t, g_s = self.schedule(t.view(1)).value, self.schedule(s.view(1)).value
        (alpha_t, sigma_t), (alpha_s, sigma_s) = alpha_sigma(g_t), alpha_sigma(g_s)
        alpha_ts = alpha_t / alpha_s
        sigma_ts = (sigma_t.pow(2) - alpha_ts.pow(2) * sigma_s.pow(2)).clamp_min(0).sqrt()
        return alpha_ts * z_s + sigma_ts * randn(z_s.shape, z_s, generator)

    def _decode(self, z_0, generator, temperature) -> torch.Tensor:
        """Integer images drawn from the decoder p(x | z_0) (logits divided by the temperature)."""
        gamma_0, _ = self.schedule.ends(z_0)
        logits = decoder_logits(z_0, gamma_0, self.config.levels).movedim(1, -1) / temperature
        probs = torch.softmax(logits.double(), -1)
        u = rand((*probs.shape[:-1], 1), probs, generator)
        return (probs.cumsum(-1) < u).sum(-1).clamp_max(self.config.levels - 1)

    def _replace(self, z, known, scaled, s, generator):
        """``z`` with the known pixels replaced by a fresh draw of q(z_s | x) from their true values."""
        fresh = self._diffuse(scaled, self.schedule(s.expand(len(z))).value, randn(z.shape, z, generator))
        return torch.where(known, fresh, z)

    def _run(self, z, steps, labels, generator, temperature, known=None, scaled=None, resample=1):
        """Ancestral sampling from z at t=1 down to t=0 in ``steps`` equal steps, then the decoder; with
        ``known``, the replacement method (and RePaint's ``resample``) of :meth:`complete`."""
        times = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64, device=z.device).to(z.dtype)
        if known is not None:
            z = self._replace(z, known, scaled, times[0], generator)
        for i in range(steps):
            t, s = times[i], times[i + 1]
            for r in range(resample):
                z_s = self._step(z, t, s, labels, generator, temperature)
                if known is not None:
                    z_s = self._replace(z_s, known, scaled, s, generator)
                if r + 1 < resample:
                    z = self._renoise(z_s, t, s, generator)
            z = z_s
        return self._decode(z, generator, temperature)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        labels: torch.Tensor | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """``n`` images by ancestral sampling with ``steps`` steps (default: the config's), int64 in 0..levels-1.

        ``temperature`` scales the standard deviation of z_1 and of every step's noise and divides the
        decoder's logits; at 1 the samples are exact draws of the ``steps``-step model.
        """
        check_count(n)
        check_temperature(temperature)
        steps = _positive_int(self.config.steps if steps is None else steps, "steps", MAX_STEPS)
        labels = self.check_labels(labels, n)
        was_training = self.training
        self.eval()
        try:
            like = torch.empty((), dtype=torch.promote_types(self.dtype, torch.float32), device=self.device)
            z = temperature * randn((n, *self.config.shape), like, generator)
            return self._run(z, steps, labels, generator, temperature)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def complete(
        self,
        x: torch.Tensor,
        known: torch.Tensor,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        labels: torch.Tensor | None = None,
        steps: int | None = None,
        resample: int = 1,
    ) -> torch.Tensor:
        """Fill the pixels where ``known`` is False by the replacement method; known pixels are kept exactly.

        At every ancestral step the unknown pixels take the model's step and the known ones are replaced by
        a fresh draw of q(z_s | x) from their true values, so the unknown part is denoised beside a noisy
        copy of the known part (Song et al. 2021; Ho et al. 2022 call it replacement). It is an approximation
        of sampling p(unknown | known), not an exact conditional: the known pixels reach the unknown ones
        only through those noisy copies, so the two halves can disagree at the seam, most at few steps.
        ``resample`` > 1 repeats every step that many times, noising back from s to t in between (RePaint,
        Lugmayr et al. 2022, with jumps of one step), which harmonises the halves at ``resample`` times the cost.
        """
        x = self.check_images(x)
        if not len(x):
            raise zoo.ImageError("x holds no images: complete needs at least one")
        if not isinstance(known, torch.Tensor) or known.dtype != torch.bool:
            raise zoo.ImageError(f"known must be a bool tensor, got {getattr(known, 'dtype', type(known))}")
        try:
            known = torch.broadcast_to(known.to(x.device), x.shape)
        except RuntimeError:
            raise zoo.ImageError(
                f"known mask of shape {tuple(known.shape)} does not broadcast to images {tuple(x.shape)}"
            ) from None
        check_temperature(temperature)
        steps = _positive_int(self.config.steps if steps is None else steps, "steps", MAX_STEPS)
        resample = _positive_int(resample, "resample", 1000)
        labels = self.check_labels(labels, len(x))
        was_training = self.training
        self.eval()
        try:
            x, known = x.to(self.device), known.to(self.device)
            scaled = self._work(x)
            z = temperature * randn(x.shape, scaled, generator)
            done = self._run(z, steps, labels, generator, temperature, known, scaled, resample)
            return torch.where(known, x, done)
        finally:
            self.train(was_training)
