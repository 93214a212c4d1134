"""Training and sampling speed of zoo's PixelCNN against a plain PixelCNN written the usual way, on GPU or CPU.

    python benchmarks/gpu.py                       # CUDA: every training path, sampling at 28x28 (a few minutes)
    python benchmarks/gpu.py --device cpu --quick  # CPU mode: 7 blocks / hidden 32, small sampling run
    python benchmarks/gpu.py --device cpu --size 7,32,32 --rounds 7 --no-sampling

Training: the baseline is a plain PixelCNN of the same shape written as most public code
writes it (pytorch-generative's layout: mask-A 7x7 input, residual blocks of unmasked 1x1,
masked 3x3, unmasked 1x1, a ReLU + 1x1 head, a mask multiply on the 7x7 and 3x3 kernels only),
trained in fp32 eagerly with Adam. zoo's PixelCNN runs through :class:`zoo.training.TrainStep`,
the trainer's own inner step, once per fast path (precision, channels_last, compile). All
paths train side by side in one process, in interleaved rounds (so a busy machine slows every
path alike), and the table gives the median images/s and the ratios to the plain baseline and
to zoo's fp32 eager path. Peak memory is the CUDA allocator's peak per path (CPU: not measured).

Sampling: ``n`` images at HxW with each pixel architecture, naive (a full forward pass per
value) against the fast exact sampler (``model.sample``; the naive steps run the core loop). By default
the naive run is timed over its first ``--naive-rows`` rows and extrapolated (marked ``*``): every
naive step is one full forward pass, the same work at every position.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn.functional as F
from _common import machine, print_table
from torch import nn

# (blocks, hidden, batch) per device: the sizes of issue 12's table
SIZES = {"cuda": [(15, 16, 256), (15, 64, 64)], "cpu": [(7, 32, 32), (15, 16, 32)]}
SAMPLERS = {  # sizes of the sampling run: small models, as in the field notes
    "pixelcnn": dict(hidden=16, layers=7),
    "row-lstm": dict(hidden=16, layers=7, out_hidden=32),
    "diagonal-bilstm": dict(hidden=16, layers=7, out_hidden=32),
}


class PlainMaskedConv(nn.Conv2d):
    """The usual masked conv: a full kernel times a mask buffer at every call."""

    def __init__(self, cin: int, cout: int, k: int, kind: str):
        super().__init__(cin, cout, k, padding=k // 2)
        mask = torch.ones(cout, cin, k, k)
        mask[:, :, k // 2, k // 2 + (kind == "B") :] = 0
        mask[:, :, k // 2 + 1 :] = 0
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PlainBlock(nn.Module):
    def __init__(self, h: int):
        super().__init__()
        self.reduce, self.conv = nn.Conv2d(2 * h, h, 1), PlainMaskedConv(h, h, 3, "B")
        self.expand = nn.Conv2d(h, 2 * h, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.expand(F.relu(self.conv(F.relu(self.reduce(F.relu(x))))))


class PlainPixelCNN(nn.Module):
    """The baseline: one-colour PixelCNN as public implementations write it; the same loss as zoo's."""

    def __init__(self, blocks: int, hidden: int, levels: int = 2):
        super().__init__()
        self.levels = levels
        self.input = PlainMaskedConv(1, 2 * hidden, 7, "A")
        self.blocks = nn.Sequential(*(PlainBlock(hidden) for _ in range(blocks)))
        self.head1, self.head2 = nn.Conv2d(2 * hidden, 2 * hidden, 1), nn.Conv2d(2 * hidden, levels, 1)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        xs = x.float() * (2.0 / (self.levels - 1)) - 1.0
        logits = self.head2(F.relu(self.head1(F.relu(self.blocks(self.input(xs))))))
        return F.cross_entropy(logits, x[:, 0], reduction="none").flatten(1).sum(1).mean()


def training_paths(device: str, compile_: bool) -> dict[str, dict]:
    """TrainConfig settings of every zoo path worth timing on this device."""
    paths = {
        "zoo fp32": {},
        "zoo channels_last": dict(channels_last=True),
        "zoo bf16": dict(precision="bf16"),
        "zoo bf16 + channels_last": dict(precision="bf16", channels_last=True),
    }
    if device == "cuda":
        paths["zoo fp16"] = dict(precision="fp16")
    if compile_ and device == "cuda":  # CUDA graphs: the cure for launch-bound small models
        paths["zoo compile reduce-overhead"] = dict(compile=True, compile_mode="reduce-overhead")
        paths["zoo bf16 + channels_last + compile reduce-overhead"] = dict(
            precision="bf16", channels_last=True, compile=True, compile_mode="reduce-overhead"
        )
    elif compile_:
        paths["zoo compile"] = dict(compile=True)
        paths["zoo bf16 + compile"] = dict(precision="bf16", compile=True)
    return paths


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_training(size: tuple[int, int, int], device: torch.device, args) -> list[list[str]]:
    import zoo
    from zoo.training import TrainConfig, TrainStep, prepare_model

    blocks, hidden, batch = size
    H = W = args.image
    x = torch.randint(0, 2, (batch, 1, H, W), generator=torch.Generator().manual_seed(0)).to(device)
    steps, peaks = {}, {}
    torch.manual_seed(0)
    plain = PlainPixelCNN(blocks, hidden).to(device)
    plain_opt = torch.optim.Adam(plain.parameters(), lr=1e-3)

    def plain_step() -> None:
        plain_opt.zero_grad(set_to_none=True)
        plain.loss(x).backward()
        plain_opt.step()

    steps["plain fp32 (baseline)"] = plain_step
    for name, settings in training_paths(device.type, args.compile).items():
        if args.paths and name != "zoo fp32" and not any(p in name for p in args.paths):
            continue
        cfg = TrainConfig(device=device.type, **settings)
        torch.manual_seed(0)
        model = zoo.create("pixelcnn", channels=1, height=H, width=W, levels=2, hidden=hidden, layers=blocks)
        prepare_model(model, cfg, device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler(device.type) if cfg.precision == "fp16" else None
        step = TrainStep(model.loss, opt, cfg, device, scaler)
        steps[name] = lambda step=step: step(x, 0)
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for name, fn in steps.items():  # warm up: kernels chosen, graphs compiled and captured
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(args.warmup + (10 if "compile" in name else 0)):
            fn()
        sync(device)
        if device.type == "cuda":
            peaks[name] = torch.cuda.max_memory_allocated(device) / 2**20
    for _ in range(args.rounds):
        for name, fn in steps.items():
            sync(device)
            t0 = time.perf_counter()
            for _ in range(args.steps):
                fn()
            sync(device)
            rates[name].append(args.steps * batch / (time.perf_counter() - t0))
    median = {name: statistics.median(r) for name, r in rates.items()}
    base, zoo32 = median["plain fp32 (baseline)"], median["zoo fp32"]
    label = f"{blocks} blocks, hidden {hidden}, batch {batch}, {H}x{W}"
    return [
        [
            label,
            name,
            f"{rate:,.0f}",
            f"{rate / base:.2f}x",
            f"{rate / zoo32:.2f}x",
            f"{peaks[name]:.0f}" if name in peaks else "-",
        ]
        for name, rate in median.items()
    ]


@contextlib.contextmanager
def _timer(out: list, device: torch.device):
    sync(device)
    t0 = time.perf_counter()
    yield
    sync(device)
    out.append(time.perf_counter() - t0)


def naive_rows(model, n: int, rows: int, device: torch.device) -> float:
    """Seconds for the first ``rows`` rows of the naive sampler, the core loop's work per value."""
    from zoo.sampling import NaiveSampler, draw, draw_uniforms

    C, H, W = model.config.shape
    x = torch.zeros((n, C, H, W), dtype=torch.long, device=device)
    sampler, times = NaiveSampler(model), []
    with torch.no_grad(), _timer(times, device):
        u = draw_uniforms(n, (C, H, W), torch.Generator().manual_seed(0), device, rows=rows)
        for i in range(rows):
            for j in range(W):
                for c in range(C):
                    x[:, c, i, j] = draw(sampler.logits_at(x, i, j, c), 1.0, None, u[i, j, c])
    return times[0]


def bench_sampling(device: torch.device, args) -> list[list[str]]:
    import zoo

    rows = []
    H = W = args.sample_image
    for arch, size in SAMPLERS.items():
        torch.manual_seed(0)
        model = zoo.create(arch, channels=1, height=H, width=W, levels=2, **size).to(device).eval()
        for n in args.sample_n:
            fast: list[float] = []
            with _timer(fast, device):
                model.sample(n, generator=torch.Generator().manual_seed(0), method="fast")
            if args.naive_rows and args.naive_rows < H:
                naive, mark = naive_rows(model, n, args.naive_rows, device) * H / args.naive_rows, "*"
            else:
                naive, mark = [], ""
                with _timer(naive, device):
                    model.sample(n, generator=torch.Generator().manual_seed(0), method="naive")
                naive = naive[0]
            label = " ".join(f"{k}={v}" for k, v in size.items())
            rows.append(
                [arch, label, f"{n}", f"{H}x{W}", f"{naive:.2f}{mark}", f"{fast[0]:.2f}", f"{naive / fast[0]:.1f}x"]
            )
            print(" | ".join(rows[-1]), flush=True)
            if device.type == "cuda":  # the same without the CUDA graphs of the position steps
                from zoo.sampling import sample_autoregressive

                loop = []
                with _timer(loop, device):
                    g = torch.Generator().manual_seed(0)
                    sample_autoregressive(model, n, g, method="fast", position_steps="never")
                rows.append(
                    [
                        arch + " (no graph)",
                        label,
                        f"{n}",
                        f"{H}x{W}",
                        f"{naive:.2f}{mark}",
                        f"{loop[0]:.2f}",
                        f"{naive / loop[0]:.1f}x",
                    ]
                )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="auto", help="cuda, cpu or auto")
    ap.add_argument("--quick", action="store_true", help="one size, fewer rounds, a small sampling run")
    ap.add_argument("--size", action="append", help="BLOCKS,HIDDEN,BATCH (repeatable); default: the issue's sizes")
    ap.add_argument("--image", type=int, default=28, help="training image side (binary, one channel)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (median reported)")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per path per round")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="include torch.compile paths (default: on CUDA only; on the CPU compiling takes minutes)",
    )
    ap.add_argument("--paths", action="append", help="time only zoo paths whose name contains this (repeatable)")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    ap.add_argument("--no-training", dest="training", action="store_false")
    ap.add_argument("--no-sampling", dest="sampling", action="store_false")
    ap.add_argument("--sample-image", type=int, default=None, help="sampling image side (default 28; CPU 12)")
    ap.add_argument("--sample-n", type=int, action="append", help="images per sampling run (repeatable)")
    ap.add_argument(
        "--naive-rows",
        type=int,
        default=None,
        help="time only this many naive rows and extrapolate (default 4 on CUDA, 2 on CPU; 0: all)",
    )
    args, _ = ap.parse_known_args()  # run_all.py passes every script the same options
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    args.compile = cuda if args.compile is None else args.compile
    args.steps = args.steps or (20 if cuda else 4)
    args.sample_image = args.sample_image or (28 if cuda else 12)
    args.sample_n = args.sample_n or ([16, 256] if cuda and not args.quick else [16])
    args.naive_rows = args.naive_rows if args.naive_rows is not None else (4 if cuda else 2)
    sizes = [tuple(int(v) for v in s.split(",")) for s in args.size] if args.size else SIZES[device.type]
    if args.quick:
        sizes, args.rounds = sizes[:1], min(args.rounds, 3)
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"machine: {machine()}; device: {name}\n")
    if args.training:
        rows = []
        for size in sizes:
            rows += bench_training(size, device, args)
            print(f"{size} done", flush=True)
        print(f"Training images/s, median of {args.rounds} interleaved rounds of {args.steps} steps, Adam:")
        print_table(["size", "path", "img/s", "vs plain", "vs zoo fp32", "peak MiB"], rows)
    if args.sampling:
        print(f"\nSampling (binary {args.sample_image}x{args.sample_image}), seconds per run; * = extrapolated:")
        print_table(
            ["architecture", "size", "n", "image", "naive s", "fast s", "fast vs naive"], bench_sampling(device, args)
        )


if __name__ == "__main__":
    main()
