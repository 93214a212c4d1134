"""Figures of a run and of a model card: the training history and completion grids.

``history.csv`` and ``curves.png`` are what a training run can be watched with: the trainer rewrites
both at the end of every epoch (and ``zoo card`` draws the curve for a model card), so a run in
progress can be followed with any CSV reader or image viewer. The plot is drawn with Pillow, a core
dependency, rather than matplotlib, which zoo does not otherwise need. With
``tensorboard`` installed the trainer also logs each epoch's record as events (see :mod:`zoo.events`).
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
from .sampling import image_grid, occlusion_mask, write_image
from .weights import atomic_write_bytes

__all__ = ["HISTORY_FILE", "CURVES_FILE", "COMPLETIONS_FILE", "write_history", "draw_curves", "completion_figure"]

HISTORY_FILE = "history.csv"
CURVES_FILE = "curves.png"
COMPLETIONS_FILE = "completions.png"
SERIES = (("train_bits_per_dim", "train", (31, 119, 180)), ("val_bits_per_dim", "val", (214, 39, 40)))


def write_history(folder: str | Path, history: list[dict[str, Any]]) -> None:
    """Write ``history.csv`` (one row per epoch) and ``curves.png`` (train and val bits/dim) atomically."""
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
        atomic_write_bytes(folder / CURVES_FILE, draw_curves(history))


def draw_curves(history: list[dict[str, Any]], size: tuple[int, int] = (640, 400)) -> bytes:
    """PNG bytes of bits/dim against epoch, one line per series present in ``history``."""
    from PIL import Image, ImageDraw

    width, height = size
    left, right, top, bottom = 70, 20, 20, 45
    points = {
        label: [(r["epoch"], r[key]) for r in history if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        for key, label, _ in SERIES
    }
    values = [v for series in points.values() for _, v in series]
    epochs = [e for series in points.values() for e, _ in series]
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    if not values:
        draw.text((left + 10, top + 10), "no finite bits/dim recorded", fill=(0, 0, 0))
        return _png(image)
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    first, last = min(epochs), max(max(epochs), min(epochs) + 1)

    def xy(epoch: float, value: float) -> tuple[float, float]:
        x = left + (epoch - first) / (last - first) * (width - left - right)
        y = top + (hi - value) / (hi - lo) * (height - top - bottom)
        return x, y

    for k in range(5):  # value ticks
        value = lo + (hi - lo) * k / 4
        _, y = xy(first, value)
        draw.line([left - 4, y, left, y], fill=(0, 0, 0))
        draw.text((4, y - 6), f"{value:.4f}", fill=(0, 0, 0))
    for epoch in sorted({first, last, (first + last) // 2}):
        x, _ = xy(epoch, lo)
        draw.line([x, height - bottom, x, height - bottom + 4], fill=(0, 0, 0))
        draw.text((x - 6, height - bottom + 8), str(epoch), fill=(0, 0, 0))
    draw.text((width // 2 - 50, height - 18), "epoch   (bits/dim)", fill=(0, 0, 0))
    for n, (_, label, colour) in enumerate(SERIES):
        line = [xy(e, v) for e, v in points[label]]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for x, y in line:
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        draw.text((width - right - 80, top + 8 + 14 * n), f"-- {label}", fill=colour)
    return _png(image)


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
) -> Path:
    """Complete ``n`` images of ``data`` (an ImageSet) with occluded parts; write the grid to ``path``.

    Columns are images; rows are the occluded input (the hidden part tinted blue), ``samples``
    completions and the original. The images are picked and completed with one seeded generator,
    so the figure is reproducible.
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
    levels, height = model.config.levels, model.config.height
    scale = max(1, 64 // max(height, 1))
    grid = image_grid(torch.cat(rows), levels, nrow=n, scale=scale)
    hidden = torch.cat([(~known).long(), *[torch.zeros_like(originals)] * (samples + 1)])
    hidden_grid = image_grid(hidden, 2, nrow=n, scale=scale)
    if hidden_grid.ndim == 3:
        hidden_grid = hidden_grid.max(-1)
    rgb = np.repeat(grid[..., None], 3, axis=-1) if grid.ndim == 2 else grid.copy()
    rgb[hidden_grid == 255] = UNKNOWN_TINT
    return write_image(rgb, path)
