"""Figures of a run and of a model card, fit to publish: labelled sample grids, completion figures, curves.

``history.csv`` and ``curves.png`` are what a training run can be watched with: the trainer rewrites
both at the end of every epoch (and ``zoo card`` draws the curve for a model card), so a run in
progress can be followed with any CSV reader or image viewer. The plot is drawn with Pillow, a core
dependency, rather than matplotlib, which zoo does not otherwise need. With
``tensorboard`` installed the trainer also logs each epoch's record as events (see :mod:`zoo.events`).

Every figure says what it shows, so it can be pasted into a paper or a card as it is: a sample grid names
the model, temperature and seed (a class per row for a class-conditional model) and is upscaled to a
readable size; a completion figure labels its rows; a curve has axis labels, round ticks, a grid, a title
and the estimator of each line.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .arguments import count
from .arguments import seed as check_seed
from .data import check_compatible
from .folders import COMPLETIONS_FILE, CURVES_FILE, HISTORY_FILE
from .sampling import occlusion_mask
from .weights import atomic_write_bytes

__all__ = [
    "image_format",
    "HISTORY_FILE",
    "CURVES_FILE",
    "COMPLETIONS_FILE",
    "write_history",
    "draw_curves",
    "curve_labels",
    "sample_figure",
    "completion_figure",
    "labelled_grid_figure",
    "default_scale",
    "image_grid",
    "save_grid",
    "write_image",
]

SERIES = (("train_bits_per_dim", "train", (31, 119, 180)), ("val_bits_per_dim", "val", (214, 39, 40)))


def write_history(folder: str | Path, history: list[dict[str, Any]], model=None) -> None:
    """Write ``history.csv`` (one row per epoch) and ``curves.png`` (train and val bits/dim) atomically.

    With ``model`` the curve's title names the architecture and each line its estimator (see :func:`curve_labels`).
    """
    folder = Path(folder)
    columns: list[str] = []
    for record in history:
        columns += [k for k in record if k not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_bytes(folder / HISTORY_FILE, text.getvalue().encode())
    if history:
        title, labels = curve_labels(model)
        atomic_write_bytes(folder / CURVES_FILE, draw_curves(history, title=title, labels=labels))


def curve_labels(model=None) -> tuple[str, dict[str, str]]:
    """The title of a model's training curve and what each line estimates.

    The train line is the mean training loss over each epoch's batches (the weights change during the
    epoch); the val line is the model's ``log_prob`` at the epoch's end: the exact NLL of an autoregressive
    model, an upper bound on it for a latent-variable model (its importance-weighted bound, with the
    config's ``eval_samples`` as k when it has one).
    """
    if model is None:
        return "bits/dim per epoch", {"train": "train: mean loss over the epoch", "val": "val: NLL at epoch end"}
    cfg = model.config
    if model.autoregressive:
        train, val = "exact NLL", "exact NLL"
    else:
        k = getattr(cfg, "eval_samples", None)
        ask = getattr(type(model), "loss_estimator", None)
        train = (ask(cfg) if ask else None) or "the model's loss"
        val = f"upper bound: IWAE, k={k}" if k else "upper bound on the NLL"
    return f"{model.architecture}: bits/dim per epoch", {
        "train": f"train: mean over the epoch's batches ({train})",
        "val": f"val: at the end of each epoch ({val})",
    }


def _nice_step(span: float, count: int = 5) -> float:
    """The round tick step (1, 2 or 5 times a power of ten) nearest to giving ``count`` ticks over ``span``."""
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return min((m * power for m in (1, 2, 5, 10)), key=lambda step: abs(math.log(step / raw)) if raw > 0 else 0)


def _ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], int]:
    """Round tick values covering [lo, hi], and the decimals they need to be written exactly."""
    step = _nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9)
    values = [k * step for k in range(first, math.floor(hi / step + 1e-9) + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return values, decimals


def _font(size: int):
    """Pillow's own font at ``size`` pixels (FreeType when Pillow has it, its bitmap font otherwise)."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def draw_curves(
    history: list[dict[str, Any]],
    size: tuple[int, int] = (720, 460),
    title: str = "bits/dim per epoch",
    labels: dict[str, str] | None = None,
) -> bytes:
    """PNG bytes of bits/dim against epoch, one line per series present in ``history``.

    Axis labels, round ticks (1, 2 or 5 times a power of ten) with grid lines, a title, and a legend
    whose ``labels`` (``{"train": ..., "val": ...}``) say which estimator each line is.
    """
    from PIL import Image, ImageDraw

    labels = {**curve_labels()[1], **(labels or {})}
    width, height = size
    left, right, top, bottom = 78, 24, 78, 52
    font, small = _font(15), _font(12)
    points = {
        label: [(r["epoch"], r[key]) for r in history if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        for key, label, _ in SERIES
    }
    values = [v for series in points.values() for _, v in series]
    epochs = [e for series in points.values() for e, _ in series]
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((width // 2, 8), title, fill=(0, 0, 0), font=font, anchor="ma")
    plot = [left, top, width - right, height - bottom]
    if not values:
        draw.rectangle(plot, outline=(0, 0, 0))
        draw.text((left + 10, top + 10), "no finite bits/dim recorded", fill=(0, 0, 0), font=small)
        return _png(image)
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    first, last = min(epochs), max(max(epochs), min(epochs) + 1)

    def xy(epoch: float, value: float) -> tuple[float, float]:
        x = left + (epoch - first) / (last - first) * (width - left - right)
        y = top + (hi - value) / (hi - lo) * (height - top - bottom)
        return x, y

    grid = (225, 225, 225)
    ticks, decimals = _ticks(lo, hi)
    for value in ticks:  # value ticks and their grid lines
        _, y = xy(first, value)
        draw.line([left, y, width - right, y], fill=grid)
        draw.line([left - 4, y, left, y], fill=(0, 0, 0))
        draw.text((left - 7, y), f"{value:.{decimals}f}", fill=(0, 0, 0), font=small, anchor="rm")
    step = max(1, int(_nice_step(last - first, 6)))
    for epoch in range(math.ceil(first / step) * step, last + 1, step):  # whole epochs only
        x, _ = xy(epoch, lo)
        draw.line([x, top, x, height - bottom], fill=grid)
        draw.line([x, height - bottom, x, height - bottom + 4], fill=(0, 0, 0))
        draw.text((x, height - bottom + 7), str(epoch), fill=(0, 0, 0), font=small, anchor="ma")
    draw.rectangle(plot, outline=(0, 0, 0))
    draw.text(((left + width - right) // 2, height - 6), "epoch", fill=(0, 0, 0), font=font, anchor="md")
    axis = Image.new("RGB", (height - top - bottom, 20), "white")
    ImageDraw.Draw(axis).text((axis.width // 2, 10), "bits/dim", fill=(0, 0, 0), font=font, anchor="mm")
    image.paste(axis.rotate(90, expand=True), (6, top))
    for n, (_, label, colour) in enumerate(SERIES):
        line = [xy(e, v) for e, v in points[label]]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for x, y in line:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        if line:  # the legend, under the title: a swatch and the estimator of each line drawn
            y = 32 + 19 * n
            draw.line([left, y + 7, left + 24, y + 7], fill=colour, width=3)
            draw.text((left + 32, y), labels[label], fill=(0, 0, 0), font=small)
    return _png(image)


# -- image files: plain grids and the PNG writer every figure goes through ---------------
def image_grid(images: torch.Tensor, levels: int, nrow: int | None = None, pad: int = 1, scale: int = 1):
    """Tile integer images ``(N, C, H, W)`` into a uint8 array ``(rows*H, cols*W[, 3])``."""
    images = images.detach().cpu().long()
    N, C, H, W = images.shape
    nrow = nrow or max(1, int(np.ceil(np.sqrt(N))))
    ncol = nrow
    rows = int(np.ceil(N / ncol))
    pix = (images.float() * (255.0 / (levels - 1))).round().clamp(0, 255).to(torch.uint8).numpy()
    grid = np.full((rows * (H + pad) + pad, ncol * (W + pad) + pad, C), 128, dtype=np.uint8)
    for k in range(N):
        r, c = divmod(k, ncol)
        y, x = pad + r * (H + pad), pad + c * (W + pad)
        grid[y : y + H, x : x + W] = pix[k].transpose(1, 2, 0)
    if scale > 1:
        grid = grid.repeat(scale, 0).repeat(scale, 1)
    return grid[..., 0] if C == 1 else grid


def save_grid(images: torch.Tensor, levels: int, path, nrow: int | None = None, scale: int | None = None) -> Path:
    """Write an image grid as PNG; small images are scaled up so they can be seen."""

    H = images.shape[-2]
    scale = scale or max(1, 64 // max(H, 1))
    return write_image(image_grid(images, levels, nrow=nrow, scale=scale), path)


def image_format(path) -> str | None:
    """The Pillow format that writes ``path``'s extension (``"PNG"`` for ``x.png``), None when none does.

    Pillow's common formats (PNG, JPEG, GIF, BMP, PPM) are asked first: importing every one of its
    format plugins, which its extension table needs, takes about 0.2 s, a third of what ``zoo sample``
    spends beyond importing torch, so that happens only for another extension.
    """
    from PIL import Image

    suffix = Path(path).suffix.lower()
    Image.preinit()
    if suffix not in Image.EXTENSION:
        Image.init()
    found = Image.EXTENSION.get(suffix)
    return found if found in Image.SAVE else None


def write_image(pixels: np.ndarray, path) -> Path:
    """Write a uint8 array as an image file, atomically, in the format its extension names.

    Through :func:`zoo.weights.atomic_write_bytes`: a failed write (full disk, name too long) is one
    :class:`~zoo.errors.WriteError` line and leaves any earlier file as it was.
    """

    from PIL import Image

    path = Path(path)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format(path) or "PNG")
    atomic_write_bytes(path, buffer.getvalue())
    return path


def default_scale(height: int) -> int:
    """How much a figure enlarges images of ``height`` rows: to about 96 pixels (28x28 -> 3x, 8x8 -> 12x)."""
    return max(1, round(96 / max(height, 1)))


def _tile(image: torch.Tensor, levels: int, scale: int) -> np.ndarray:
    """One integer image ``(C, H, W)`` as an RGB uint8 array, enlarged ``scale`` times (nearest neighbour)."""
    pix = (image.detach().cpu().float() * (255.0 / (levels - 1))).round().clamp(0, 255).to(torch.uint8).numpy()
    rgb = np.repeat(pix, 3, axis=0) if pix.shape[0] == 1 else pix[:3]
    return rgb.transpose(1, 2, 0).repeat(scale, 0).repeat(scale, 1)


def _layout(
    rows: list[tuple[str | None, list[np.ndarray]]], title: str, separators: tuple[int, ...] = (), gap: int = 3
) -> np.ndarray:
    """Tiles in labelled rows under a title, as one RGB array: the frame every zoo figure uses.

    ``rows`` holds (label or None, tiles of one size). Tiles sit on a grey frame, so white pixels at their
    edges stay visible; a black line in a white band is drawn above each row index in ``separators``.
    """
    from PIL import Image, ImageDraw

    font, small = _font(15), _font(13)
    th, tw = rows[0][1][0].shape[:2] if rows and rows[0][1] else (1, 1)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([int(probe.textlength(label, font=small)) + 12 for label, _ in rows if label] or [0])
    cols = max(len(tiles) for _, tiles in rows)
    grid_w = label_w + cols * (tw + gap) + gap
    width = max(grid_w, int(probe.textlength(title, font=font)) + 16)
    band = 12  # the white band a separator line sits in
    tops, y = [], 30
    for r in range(len(rows)):
        y += band if r in separators else 0
        tops.append(y)
        y += th + gap
    image = Image.new("RGB", (width, y + gap), "white")
    draw = ImageDraw.Draw(image)
    draw.text((width // 2, 8), title, fill=(0, 0, 0), font=font, anchor="ma")
    x0 = (width - grid_w) // 2 + label_w
    for r, (label, tiles) in enumerate(rows):
        y = tops[r]
        draw.rectangle([x0, y, x0 + len(tiles) * (tw + gap) + gap - 1, y + th + 2 * gap - 1], fill=(128, 128, 128))
        if label:
            draw.text((x0 - 8, y + gap + th // 2), label, fill=(0, 0, 0), font=small, anchor="rm")
        for c, tile in enumerate(tiles):
            image.paste(Image.fromarray(tile), (x0 + gap + c * (tw + gap), y + gap))
        if r in separators:
            line_y = y - band // 2
            draw.line([x0, line_y, x0 + cols * (tw + gap) + gap - 1, line_y], fill=(0, 0, 0), width=2)
    return np.asarray(image)


def sample_figure(
    images: torch.Tensor,
    levels: int,
    path: str | Path,
    name: str,
    seed: int | None = None,
    temperature: float = 1.0,
    labels: torch.Tensor | None = None,
    scale: int | None = None,
    nrow: int | None = None,
) -> Path:
    """Write a labelled grid of samples ``(N, C, H, W)``: the title names the model, temperature and seed.

    With ``labels`` (a class-conditional model's classes) each row holds one class, in increasing order,
    labelled ``class k``; else ``nrow`` images a row (default: a square grid). ``scale`` enlarges each image
    (default :func:`default_scale`).
    """
    scale = scale or default_scale(images.shape[-2])
    tiles = [_tile(x, levels, scale) for x in images]
    classes = labels.detach().cpu().long().unique() if labels is not None else None
    one_class = f", class {int(classes[0])}" if classes is not None and len(classes) == 1 else ""
    if classes is not None and not one_class:
        labels = labels.detach().cpu().long()
        rows = [(f"class {int(k)}", [t for t, y in zip(tiles, labels) if y == k]) for k in classes]
    else:
        per_row = nrow or max(1, math.ceil(math.sqrt(len(tiles))))
        rows = [(None, tiles[i : i + per_row]) for i in range(0, len(tiles), per_row)]
    seeded = f"seed {seed}" if seed is not None else "unseeded"
    return write_image(_layout(rows, f"{name}{one_class}, temperature {temperature:g}, {seeded}"), path)


def labelled_grid_figure(
    rows: list[tuple[str | None, torch.Tensor]], levels: int, path: str | Path, title: str, scale: int | None = None
) -> Path:
    """Write rows of integer images ``(N, C, H, W)``, each row with its label (or None), under ``title``.

    The frame of the sample and completion figures, for a model's own figures (a VAE's latent
    traversals, a hierarchical VAE's samples per temperature): see :meth:`zoo.Model.card_figures`.
    """
    if not rows or any(len(images) == 0 for _, images in rows):
        raise ValueError("a labelled grid needs at least one row, each with at least one image")
    scale = scale or default_scale(rows[0][1].shape[-2])
    tiles = [(label, [_tile(x, levels, scale) for x in images]) for label, images in rows]
    return write_image(_layout(tiles, title), path)


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


UNKNOWN_TINT = (90, 110, 200)  # occluded pixels: never confused with black (0) or white background


def completion_figure(
    model,
    data,
    path: str | Path,
    n: int = 8,
    samples: int = 3,
    occlude: str = "bottom-half",
    seed: int = 0,
    temperature: float = 1.0,
    name: str | None = None,
    scale: int | None = None,
) -> Path:
    """Complete ``n`` images of ``data`` (an ImageSet) with occluded parts; write the figure to ``path``.

    Columns are images; rows, each labelled, are the occluded input (the hidden part tinted blue),
    ``samples`` completions and the original, with a line between the input, the completions and the
    original. The title names the model (``name``, default its architecture), the hidden part, the seed
    and the temperature. The images are picked and completed with one seeded generator, so the figure is
    reproducible.
    """

    count(n, "n")
    count(samples, "samples")
    check_compatible(model, data)
    g = torch.Generator().manual_seed(check_seed(seed))
    pick = torch.randperm(len(data), generator=g)[:n]
    originals = data.images[pick].long()
    n = len(originals)
    known = occlusion_mask(model.config.shape, occlude).expand_as(originals)
    rows = [torch.where(known, originals, torch.zeros_like(originals))]
    on = model.device  # the model may sit on a GPU; the figure is drawn on the CPU
    labels = {"labels": data.labels[pick].to(on)} if model.conditional else {}
    for _ in range(samples):
        done = model.complete(originals.to(on), known.to(on), generator=g, temperature=temperature, **labels)
        rows.append(done.cpu())
    rows.append(originals)
    levels = model.config.levels
    scale = scale or default_scale(model.config.height)
    hidden = (~known).any(1).repeat_interleave(scale, 1).repeat_interleave(scale, 2).numpy()  # (n, H*s, W*s)
    occluded = []
    for k, x in enumerate(rows[0]):
        tile = _tile(x, levels, scale).copy()
        tile[hidden[k]] = UNKNOWN_TINT
        occluded.append(tile)
    names = ["occluded", *(f"completion {k + 1}" for k in range(samples)), "original"]
    tiles = [occluded, *([_tile(x, levels, scale) for x in row] for row in rows[1:])]
    title = f"{name or model.architecture}: {occlude} completed, seed {seed}, temperature {temperature:g}"
    return write_image(_layout(list(zip(names, tiles)), title, separators=(1, samples + 1)), path)
