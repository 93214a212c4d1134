"""C++ extensions that a plugin builds at first use and caches, or None (and one log line) where it cannot.

Why: a recurrence of many tiny steps (the PixelRNN layers) spends its time in per-step dispatch and in
memory passes that one fused C++ loop avoids. The extension is compiled the first time a model needs it
(never at import), with ``torch.utils.cpp_extension.load``, into torch's extensions folder
(``TORCH_EXTENSIONS_DIR``, default ``~/.cache/torch_extensions``): a later process loads the built
library in milliseconds. Its name carries a digest of the source, the flags, torch's version and this
CPU's instruction set (it is compiled with ``-march=native``), so a changed source, another torch or
another machine sharing the folder never loads a stale or foreign build.

Where there is no compiler or ninja, or the build fails, :func:`load_extension` returns None, logs one
warning on the ``zoo.native`` logger, and the caller runs its PyTorch path. ``ZOO_NATIVE=0`` forces that
fallback (read at every call, so tests can switch it per test).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import time
from pathlib import Path
from types import ModuleType

__all__ = ["FLAGS", "enabled", "load_extension", "build_seconds"]

log = logging.getLogger("zoo.native")

#: compiler flags: vectorised loops with the C library's vector exp (``-ffast-math`` declares it)
FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp-simd")
#: a build lock older than this is a killed build's, not a running one's (a build takes about a minute)
STALE_LOCK_SECONDS = 600

_loaded: dict[str, ModuleType | None] = {}
_build_seconds: dict[str, float] = {}


def enabled() -> bool:
    """False when ``ZOO_NATIVE=0`` asks every caller for its PyTorch path."""
    return os.environ.get("ZOO_NATIVE", "1").strip() != "0"


def build_seconds(name: str) -> float | None:
    """Seconds this process spent loading extension ``name`` (building it, if it was not cached), or None."""
    return _build_seconds.get(name)


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _missing_tools() -> str | None:
    from torch.utils import cpp_extension

    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return f"no C++ compiler ({compiler}) on PATH"
    if not cpp_extension.is_ninja_available():
        return "ninja is not installed"
    return None


def _clear_stale_lock(name: str) -> None:
    """torch waits forever on the lock file a killed build leaves behind: remove one that is clearly stale."""
    from torch.utils import cpp_extension

    try:  # torch's own folder rule (a private helper: if it moves, only this clean-up is skipped)
        lock = Path(cpp_extension._get_build_directory(name, verbose=False)) / "lock"
        if time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
            lock.unlink()
    except Exception:
        pass


def load_extension(name: str, source: Path) -> ModuleType | None:
    """The extension built from the C++ file ``source``, or None where it cannot be built (or ``ZOO_NATIVE=0``).

    Built once per process at the first call and cached on disk; a failed build is not retried in this
    process. ``name`` is a Python identifier unique to the extension (``zoo_row_lstm_fused``).
    """
    if not enabled():
        return None
    if name in _loaded:
        return _loaded[name]
    started = time.perf_counter()
    module = None
    try:
        import torch
        from torch.utils import cpp_extension

        problem = _missing_tools()
        if problem is None:
            text = Path(source).read_bytes()
            key = b"\0".join([text, " ".join(FLAGS).encode(), torch.__version__.encode(), _cpu_flags().encode()])
            versioned = f"{name}_{hashlib.sha256(key).hexdigest()[:12]}"
            _clear_stale_lock(versioned)
            module = cpp_extension.load(name=versioned, sources=[str(source)], extra_cflags=list(FLAGS), verbose=False)
    except Exception as exc:  # a failed build is a fallback, never an error for the model
        problem = f"the build failed ({str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__})"
    if module is None:
        log.warning("zoo: %s is not available, %s; running the PyTorch path instead", name, problem)
    _build_seconds[name] = time.perf_counter() - started
    _loaded[name] = module
    return module
