"""What every benchmark shares: one measurement per fresh process, and the markdown table it prints."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys


def machine() -> str:
    import torch

    return f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPU cores, torch {torch.__version__}"


def run_isolated(
    script: str, args: list[str], what: str, threads: int | None = 1, env: dict[str, str] | None = None
) -> dict:
    """Run ``script --one ARGS`` in a fresh process (clean peak memory, no warm caches); its last line is JSON.

    ``env``: variables set for that process on top of this one's."""
    env = {**os.environ, **(env or {})}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("MALLOC_MMAP_THRESHOLD_", "1000000000")  # glibc's allocator dominates small CPU timings
    env.setdefault("MALLOC_TRIM_THRESHOLD_", "4000000000")
    proc = subprocess.run([sys.executable, script, "--one", *args], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{what} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(v)) for v in col) for col in zip(head, *rows)]
    print()
    for row in [head, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |")
