"""Autoregressive sampling and completion for every pixel model: model-side logic, no I/O.

The model contract (:class:`zoo.AutoregressiveModel`) runs these loops, so this module sits below
:mod:`zoo.interfaces` and imports no file or Hub module; writing images is :mod:`zoo.figures`' job.

Order: rows top to bottom, pixels left to right, channels R, G, B inside a pixel.

One uniform number per (pixel, channel, image) is drawn from the ``torch.Generator``
and turned into a level by inverse CDF in float64, whether or not the pixel is known.
So the random stream does not depend on the method: a fast sampler that computes the
same conditionals gives exactly the samples of the naive one.

The uniforms of a whole run are drawn in one call, up front, on the CPU (the generator's
stream is the same as one draw per step: the CPU generator fills a tensor in order), and
moved to the model's device once; the inverse-CDF draw runs on the device. So a GPU
sampler never waits for the host per value, and a seed gives the same images on every
device whose softmax agrees bit for bit (the CPU always agrees with itself).

Fast samplers plug in through :meth:`AutoregressiveModel.incremental_sampler(n, labels)`, which
returns an :class:`IncrementalSampler` (a Protocol: any object with these methods)::

    start(x)                 # x: (n, C, H, W) int64 canvas (zeros, or the image to complete)
    logits_at(x, i, j, c)    # (n, levels) logits of channel c of pixel (i, j) given x

and optionally (:class:`PositionSampler`) two more, with the position in a device tensor, so that
on CUDA one pixel can be captured as a CUDA graph and replayed (see ``_run_by_position``)::

    logits_at_position(x, pos, c)   # pos: 0-dim int64 tensor, the raster index i*W + j
    commit(x, pos)                  # the pixel's channels are all drawn
    start_row_at_position(x, pos)   # optional: before the first pixel of every row but the first
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from typing import Protocol, runtime_checkable

import torch

from .arguments import count
from .errors import ArgumentError, ImageError

__all__ = [
    "IncrementalSampler",
    "PositionSampler",
    "NaiveSampler",
    "sample_autoregressive",
    "complete_autoregressive",
    "draw",
    "draw_uniforms",
    "randn",
    "check_count",
    "check_temperature",
    "sample_in_batches",
    "step_work",
    "occlusion_mask",
]

METHODS = ("auto", "naive", "fast")


@runtime_checkable
class IncrementalSampler(Protocol):
    """What :meth:`AutoregressiveModel.incremental_sampler` returns: exact conditionals, one position at a time.

    A sampler is made for ``n`` images (and their labels, for a class-conditional model) and used
    for one run: ``start`` once, then ``logits_at`` for every channel of every pixel in raster order.
    """

    def start(self, x: torch.Tensor) -> None:
        """Begin a run on the canvas ``x`` (n, C, H, W), int64: zeros, or the images to complete."""

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        """``(n, levels)`` logits of channel ``c`` of pixel ``(i, j)`` given everything before it in ``x``."""


@runtime_checkable
class PositionSampler(IncrementalSampler, Protocol):
    """An :class:`IncrementalSampler` that can also step with the position in a device tensor, so that one
    pixel is captured as a CUDA graph and replayed (``start_row_at_position(x, pos)`` is optional)."""

    def logits_at_position(self, x: torch.Tensor, pos: torch.Tensor, c: int) -> torch.Tensor:
        """Like ``logits_at``, at raster index ``pos`` (0-dim int64 on the device, ``i * W + j``)."""

    def commit(self, x: torch.Tensor, pos: torch.Tensor) -> None:
        """Every channel of the pixel at ``pos`` is drawn and written into ``x``."""


class NaiveSampler:
    """The reference: one full forward pass per pixel and channel (C*H*W passes)."""

    def __init__(self, model, labels: torch.Tensor | None = None):
        self.model, self.labels = model, labels

    def start(self, x: torch.Tensor) -> None:
        pass

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        logits = self.model.logits(x) if self.labels is None else self.model.logits(x, self.labels)
        return logits[:, :, c, i, j]


def draw(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | None, uniforms: torch.Tensor | None = None
) -> torch.Tensor:
    """Sample one level per row of ``logits`` (n, levels) by inverse CDF of softmax(logits / T).

    ``uniforms`` (n, 1) float64, on any device: this step's slice of :func:`draw_uniforms`;
    without it, n uniforms are drawn from ``generator`` now (the same numbers).
    """
    scaled = logits.double() if temperature == 1.0 else logits.double() / temperature  # x / 1 == x: one kernel less
    probs = torch.softmax(scaled, dim=-1)
    if uniforms is None:
        uniforms = torch.rand(probs.shape[0], 1, generator=generator, dtype=torch.float64, device="cpu")
    cdf = probs.cumsum(-1)
    return (cdf < uniforms.to(cdf.device)).sum(-1).clamp_(max=probs.shape[-1] - 1)


UNIFORMS_PER_BLOCK = 1 << 23  # 64 MiB of float64: more images than that are drawn a block of rows at a time


def randn(shape, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise of ``like``'s dtype and device, drawn on the generator's device when one is given.

    Drawing on the generator's device and moving the result means a CPU generator gives the same numbers
    for a model on any device, so a seeded figure does not depend on where the model runs. The latent
    models (VAE, hierarchical VAE, VDM) all draw their Gaussian noise through this one function.
    """
    if generator is None:
        return torch.randn(shape, dtype=like.dtype, device=like.device)
    return torch.randn(shape, generator=generator, device=generator.device).to(like.device, like.dtype)


def draw_uniforms(n: int, shape: tuple[int, int, int], generator, device, rows: int | None = None) -> torch.Tensor:
    """The uniforms of ``rows`` image rows (all H by default), ``(rows, W, C, n, 1)`` on ``device``.

    One CPU draw and one copy instead of one draw and one host round trip per value; the
    values and their order are those of per-step draws (tested).
    """
    C, H, W = shape
    u = torch.rand(rows or H, W, C, n, 1, generator=generator, dtype=torch.float64, device="cpu")
    return u.to(device)


def _sampler(model, n: int, method: str, labels: torch.Tensor | None) -> IncrementalSampler:
    """The sampler a run uses. Labels are passed only to a conditional model, so that the methods of an
    unconditional model may keep the signatures without ``labels`` that zoo 0.1 asked for."""
    if method not in METHODS:
        raise ArgumentError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "naive":
        return NaiveSampler(model, labels)
    fast = model.incremental_sampler(n) if labels is None else model.incremental_sampler(n, labels)
    if fast is None:
        if method == "fast":
            raise ArgumentError(f"{model.architecture or type(model).__name__} has no fast sampler")
        return NaiveSampler(model, labels)
    return fast


MIN_TEMPERATURE = 1e-6  # logits / T stays finite in float64 for any |logit| < 1e302
MAX_SAMPLES = 100_000  # images per call: more is a memory error, not a useful batch


def check_temperature(temperature: float) -> None:
    """Every sampler's temperature check: a finite number, not so small that ``logits / T`` overflows.

    A string or None would fail deep inside torch; T = 1e-320 would turn every logit into
    infinity and every sample into zeros without an error.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ArgumentError(f"temperature must be a number, got {temperature!r:.40} ({type(temperature).__name__})")
    if not (math.isfinite(temperature) and temperature >= MIN_TEMPERATURE):
        raise ArgumentError(
            f"temperature must be > 0: a finite number of at least {MIN_TEMPERATURE:g} "
            f"(smaller ones overflow the logits), got {temperature!r}"
        )


def check_count(n) -> None:
    """Every sampler's image-count check: a positive integer, at most MAX_SAMPLES per call."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ArgumentError(f"n must be a positive integer, got {n!r:.40}")
    if n > MAX_SAMPLES:
        raise ArgumentError(f"n must be at most {MAX_SAMPLES} per call, got {n}; sample in batches")


def _run(model, x, known, generator, temperature, method, labels, position_steps, uniforms_per_block):
    check_temperature(temperature)
    labels = model.check_labels(labels, len(x))
    was_training = model.training
    model.eval()
    try:
        n, C, H, W = x.shape
        sampler = _sampler(model, n, method, labels)
        with _one_thread_for(sampler, x.device):
            return _steps(sampler, x, known, generator, temperature, position_steps, uniforms_per_block)
    finally:
        model.train(was_training)


@contextlib.contextmanager
def _one_thread_for(sampler, device: torch.device):
    """Run a fast sampler on one CPU thread: its ops are tiny (one position of a batch), and OpenMP threads
    that wait for each other cost more than they save (16x for a PixelCNN at 28x28 on a busy 2-core machine).
    The naive sampler's full passes keep torch's thread count."""
    threads = torch.get_num_threads()
    one = device.type == "cpu" and not isinstance(sampler, NaiveSampler)
    if one:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if one:
            torch.set_num_threads(threads)


def _steps(
    sampler,
    x,
    known,
    generator,
    temperature,
    position_steps: str,
    uniforms_per_block: int,
):
    """Every channel of every pixel in raster order: one uniform each, drawn a block of rows at a time.

    ``position_steps`` says where the position-indexed steps run (see :func:`_use_position_steps`);
    ``uniforms_per_block`` bounds the uniforms drawn at once (rows of them, at least one).
    """
    n, C, H, W = x.shape
    sampler.start(x)
    block = max(1, uniforms_per_block // (W * C * n))  # rows of uniforms per draw
    if block >= H and _use_position_steps(sampler, x, position_steps):
        _run_by_position(sampler, x, known, draw_uniforms(n, (C, H, W), generator, x.device), temperature)
        return x
    for i in range(H):
        if i % block == 0:
            uniforms = draw_uniforms(n, (C, H, W), generator, x.device, rows=min(block, H - i))
        for j in range(W):
            for c in range(C):
                value = draw(sampler.logits_at(x, i, j, c), temperature, generator, uniforms[i % block, j, c])
                if known is None:
                    x[:, c, i, j] = value
                else:
                    x[:, c, i, j] = torch.where(known[:, c, i, j], x[:, c, i, j], value)
    return x


# -- position-indexed steps, replayed as a CUDA graph ------------------------------------------------
#
# A sampler may also offer ``logits_at_position(x, pos, c)`` and ``commit(x, pos)``, where ``pos``
# is a 0-dim int64 tensor on the device holding the raster index i*W + j: every index the step
# needs is computed from that tensor on the device, so the same kernels serve every position.
# One pixel (all C channels, the draws, the writes into x, ``commit``, ``pos += 1``) is then
# captured once as a CUDA graph and replayed H*W - 1 times: one launch per pixel instead of
# about a hundred. On the CPU the same code runs eagerly with ``position_steps="always"``
# (the tests' way of checking it); ``ZOO_CUDA_GRAPHS=0`` turns the graph off.

POSITION_STEP_MODES = ("cuda", "always", "never")  # what sample_autoregressive(position_steps=) takes


def _use_position_steps(sampler, x: torch.Tensor, mode: str = "cuda") -> bool:
    """Whether to run the position-indexed steps: ``mode`` "cuda" (the default: with a CUDA graph, on CUDA
    only), "always" (eagerly on the CPU too) or "never" (the plain loop everywhere)."""
    if mode not in POSITION_STEP_MODES:
        raise ArgumentError(f"position_steps must be one of {', '.join(POSITION_STEP_MODES)}, got {mode!r:.40}")
    if not hasattr(sampler, "logits_at_position") or mode == "never" or not x.is_contiguous():
        return False
    if mode == "always":
        return True
    return x.device.type == "cuda" and os.environ.get("ZOO_CUDA_GRAPHS", "1") != "0"


def _run_by_position(sampler, x, known, uniforms, temperature) -> None:
    """The core loop over positions driven by a device tensor ``pos``; a CUDA graph per pixel on CUDA."""
    n, C, H, W = x.shape
    flat = x.view(n, C, H * W)  # x is contiguous: writes through ``flat`` land in x
    known_flat = None if known is None else known.expand(n, C, H, W).reshape(n, C, H * W)
    u = uniforms.view(H * W, C, n, 1)
    pos = torch.zeros((), dtype=torch.long, device=x.device)

    def pixel() -> None:
        where = pos.view(1)
        u_here = u.index_select(0, where)[0]  # (C, n, 1)
        for c in range(C):
            value = draw(sampler.logits_at_position(x, pos, c), temperature, None, u_here[c])
            if known_flat is not None:
                keep = known_flat[:, c].index_select(1, where)[:, 0]
                value = torch.where(keep, flat[:, c].index_select(1, where)[:, 0], value)
            flat[:, c].index_copy_(1, where, value.view(n, 1))
        sampler.commit(x, pos)
        pos.add_(1)

    row_start = getattr(sampler, "start_row_at_position", None)  # optional: work done once per row

    def step(p: int, graphs: tuple | None = None) -> None:
        """Position p (the Python twin of ``pos``, which says when a row after the first starts)."""
        if graphs is None:
            if row_start is not None and p % W == 0 and p:
                row_start(x, pos)
            pixel()
            return
        if row_start is not None and p % W == 0:
            graphs[1].replay()
        graphs[0].replay()

    steps = H * W
    if x.device.type != "cuda" or W < 3:  # the warm-up below stays in the first row
        for p in range(steps):
            step(p)
        return
    side = torch.cuda.Stream(x.device)
    side.wait_stream(torch.cuda.current_stream(x.device))
    with torch.cuda.stream(side):  # warm-up outside the capture, as CUDA graphs require: two real pixels
        step(0)
        step(1)
    torch.cuda.current_stream(x.device).wait_stream(side)
    graphs = (torch.cuda.CUDAGraph(), torch.cuda.CUDAGraph())
    try:
        with torch.cuda.graph(graphs[0]):  # records, does not run: pos stays 2
            pixel()
        if row_start is not None:
            with torch.cuda.graph(graphs[1]):
                row_start(x, pos)
    except RuntimeError as exc:  # an op that cannot be captured: go on with the same steps, eagerly
        warnings.warn(f"sampling without a CUDA graph ({str(exc).splitlines()[0]})", stacklevel=3)
        graphs = None
    for p in range(2, steps):
        step(p, graphs)
    torch.cuda.current_stream(x.device).synchronize()  # finish before the graphs and their memory go


@torch.no_grad()
def sample_autoregressive(
    model,
    n: int,
    generator=None,
    temperature: float = 1.0,
    method: str = "auto",
    labels=None,
    *,
    position_steps: str = "cuda",
    uniforms_per_block: int = UNIFORMS_PER_BLOCK,
):
    """``n`` fresh images from an autoregressive model, int64 ``(n, C, H, W)`` (of classes ``labels``).

    The two keywords choose how the loop runs, for checks and benchmarks of paths that give the same
    images: ``position_steps`` ("cuda", the default: position-indexed steps replayed as a CUDA graph on
    CUDA; "always": those steps on the CPU too, eagerly; "never": the plain loop) and
    ``uniforms_per_block`` (how many uniforms are drawn at once; fewer, for very many images).
    """
    check_count(n)
    x = torch.zeros((n, *model.config.shape), dtype=torch.long, device=model.device)
    return _run(model, x, None, generator, temperature, method, labels, position_steps, uniforms_per_block)


@torch.no_grad()
def complete_autoregressive(
    model,
    x,
    known,
    generator=None,
    temperature: float = 1.0,
    method: str = "auto",
    labels=None,
    *,
    position_steps: str = "cuda",
    uniforms_per_block: int = UNIFORMS_PER_BLOCK,
):
    """Copy of ``x`` whose unknown pixels (``known`` False) are sampled given the earlier ones
    (``position_steps`` and ``uniforms_per_block`` as for :func:`sample_autoregressive`)."""
    x = model.check_images(x).clone().to(model.device)
    if not len(x):
        raise ImageError("x holds no images: complete needs at least one")
    if not isinstance(known, torch.Tensor) or known.dtype != torch.bool:
        raise ImageError(f"known must be a bool tensor, got {getattr(known, 'dtype', type(known))}")
    try:
        known = torch.broadcast_to(known.to(x.device), x.shape)
    except RuntimeError:
        raise ImageError(
            f"known mask of shape {tuple(known.shape)} does not broadcast to images {tuple(x.shape)}"
        ) from None
    return _run(model, x, known, generator, temperature, method, labels, position_steps, uniforms_per_block)


def sample_in_batches(
    model,
    n: int,
    batch_size: int | None = None,
    generator=None,
    temperature: float = 1.0,
    labels=None,
    progress: bool = False,
    **kwargs,
) -> torch.Tensor:
    """``n`` samples of any model drawn ``batch_size`` at a time, so memory is bounded by the batch and not by
    ``n``. ``labels`` (one per image) are split with the batches; ``kwargs`` go to every ``model.sample``
    call (``method=`` for an autoregressive model). One generator runs through the batches in order, so a
    seed gives the same images run to run (another batch size draws them in another order). ``progress``
    shows a bar when there are several batches (``zoo sample`` does)."""
    from tqdm.auto import tqdm  # only a progress bar: imported when sampling starts

    if batch_size is not None:
        count(batch_size, "batch_size")
    size = min(batch_size or n, n)
    parts = []
    starts = range(0, n, size)
    for start in tqdm(starts, desc="sampling", disable=not progress or len(starts) < 2, leave=False):
        part = {} if labels is None else {"labels": labels[start : start + size]}
        parts.append(model.sample(min(size, n - start), generator=generator, temperature=temperature, **kwargs, **part))
    return torch.cat(parts)


def step_work(model, batch: int) -> int:
    """The size of one sampling step of ``batch`` images (image values x hidden maps), which sets how many
    threads are worth starting (:func:`zoo.threads.use_threads`); a model without an integer ``hidden``
    counts as 64 maps."""
    hidden = getattr(model.config, "hidden", 64)
    return batch * model.config.dims * (hidden if isinstance(hidden, int) else 64)


def occlusion_mask(shape: tuple[int, int, int], occlude: str) -> torch.Tensor:
    """A ``(C, H, W)`` bool mask of known pixels: ``bottom-half``, ``right-half`` or ``none``."""
    C, H, W = shape
    known = torch.ones(shape, dtype=torch.bool)
    if occlude == "bottom-half":
        known[:, H // 2 :, :] = False
    elif occlude == "right-half":
        known[:, :, W // 2 :] = False
    elif occlude != "none":
        raise ArgumentError(f"occlude must be bottom-half, right-half or none, got {occlude!r}")
    return known
