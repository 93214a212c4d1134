"""The on-disk format: ``config.json`` + ``model.safetensors`` (+ ``README.md``). Never pickle."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from ._version import __version__, install_name, plain_version
from .building import meta_model
from .errors import (
    ArgumentError,
    ConfigFileError,
    UnknownNameError,
    WeightsError,
    WriteError,
    validation_problems,
)
from .registry import get_registry
from .text import printable

__all__ = [
    "FORMAT_VERSION",
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "CARD_FILE",
    "save_pretrained",
    "read_config",
    "read_header",
    "parse_json",
    "load_tensors",
    "load_folder",
    "atomic_write_bytes",
    "atomic_write_json",
]


FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"

# Limits on what an untrusted config.json may hold: far above anything zoo writes (a few hundred
# bytes, depth 4, small integers), low enough that reading it costs no noticeable memory or time.
MAX_CONFIG_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
MAX_JSON_DIGITS = 18  # every int64 fits; a 5000-digit "integer" is refused, naming its field
MAX_HEADER_BYTES = 16 << 20  # a safetensors header: about 100 bytes a tensor (the library allows 100 MB)

# safetensors dtype names (as its header spells them) and the torch dtypes they load as.
_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def file_sha256(path) -> str:
    """Hex sha256 of a file, read in chunks (what the pretrained index and the model cards pin)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


FILE_MODE = 0o644  # what zoo writes is readable by everyone, writable by its owner


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file.

    A failed write (disk full, name too long, no permission) removes its temporary file, leaves
    the old file as it was and raises a one-line :class:`WriteError` naming the file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)  # mkstemp makes 0600: unreadable to another user or a container
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise write_error(path, exc) from None
        raise


def write_error(path: Path, exc: OSError) -> WriteError:
    """The one-line error of a failed write: which file, and the system's reason."""
    reason = exc.strerror or _first_line(exc)
    error = WriteError(f"{short_path(path)}: cannot write ({reason}); any earlier version is unchanged")
    error.path, error.reason = Path(path), reason  # for callers that say more (see zoo.training)
    return error


def short_path(path) -> str:
    """A path for an error message: over-long ones are cut in the middle, keeping both ends."""
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-50:]}"


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Save tensors as safetensors atomically (detached, contiguous, CPU, unshared copies), byte for byte the
    same for the same tensors and metadata (:func:`canonical_safetensors`), so a reproduction meets its pin."""
    clean = {k: v.detach().to("cpu").clone().contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, canonical_safetensors(save(clean, metadata=metadata)))


def canonical_safetensors(data: bytes) -> bytes:
    """``data`` (a safetensors file) with its header's ``__metadata__`` keys in sorted order.

    safetensors writes the metadata from a hash map, whose order changes from one process to the next: two
    saves of the same model could differ in bytes and sha256. The header is JSON after an 8-byte length;
    the tensors' offsets count from its end, so the header is rewritten (padded with spaces to a multiple
    of 8, as safetensors pads it) and the tensor bytes are kept as they are.
    """
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    if isinstance(header.get("__metadata__"), dict):
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + size :]


def _check_cast(model: torch.nn.Module, path: Path, dtype: torch.dtype | None) -> None:
    """NaN and infinity are refused in the file (:func:`load_tensors`) and again after the cast to the
    dtype asked for: weights of 1e6 are finite in float32 and infinite in float16, where every likelihood
    would come out NaN."""
    if dtype is None:
        return
    for name, value in [*model.named_parameters(), *model.named_buffers()]:
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise WeightsError(
                f"{path}: tensor {name!r} has {bad} value(s) beyond the range of {str(dtype).removeprefix('torch.')} "
                f"(largest finite {torch.finfo(value.dtype).max:.6g}); load it in float32 or bfloat16"
            )


def load_tensors(path: Path, finite: bool = False) -> dict[str, torch.Tensor]:
    """Read a safetensors file; a missing or corrupt file is a WeightsError naming it.

    With ``finite=True`` a floating-point tensor holding NaN or infinity is refused too: such
    weights load without complaint and then give ``nan`` likelihoods and blank samples.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: file not found")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path}: not a valid safetensors file ({_first_line(exc)})") from None
    if finite:
        for name, value in tensors.items():
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                bad = int((~torch.isfinite(value)).sum())
                raise WeightsError(
                    f"{path}: tensor {name!r} holds {bad} NaN or infinite value(s) of {value.numel()}; "
                    "refusing weights that cannot give finite likelihoods"
                )
    return tensors


def read_header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Tensor name -> (shape, safetensors dtype name) from the file's header, without reading any tensor.

    safetensors keeps a JSON header before the data, its size in the first 8 bytes (capped here at
    MAX_HEADER_BYTES); ``safe_open`` maps the file and parses only that header, so a hostile file
    costs no memory here.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: file not found")
    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror or _first_line(exc)})") from None
    if size > MAX_HEADER_BYTES:
        raise WeightsError(f"{path}: safetensors header of {size} bytes, more than {MAX_HEADER_BYTES} allowed")
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: (tuple(f.get_slice(name).get_shape()), f.get_slice(name).get_dtype()) for name in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path}: not a valid safetensors file ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def save_pretrained(
    model,
    folder,
    dataset: str | None = None,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    dataset_options: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``folder`` as config.json + model.safetensors; returns the folder.

    ``dataset``, its ``dataset_options`` (``{"dynamic": true}`` ...) and ``metrics`` default to
    what the model carries from training or loading.
    """

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from None
    info = dict(getattr(model, "pretrained_info", {}) or {})
    reg = get_registry()
    plugin = reg.plugin_of(type(model)) or info.get("plugin", "")
    record = reg.plugins.get(plugin)
    meta = {
        "format_version": FORMAT_VERSION,
        "library": "zoo",
        "zoo_version": __version__,
        "plugin": plugin,
        # what `pip install` brings the architecture back with (a run-time plugin has no distribution)
        "plugin_distribution": record.distribution if record is not None else info.get("plugin_distribution", ""),
        "plugin_version": record.version if record is not None else info.get("plugin_version", ""),
        "architecture": model.architecture,
        "config": model.config.model_dump(mode="json"),
        "dataset": dataset if dataset is not None else info.get("dataset"),
        "dataset_options": dataset_options if dataset_options is not None else info.get("dataset_options") or {},
        "metrics": metrics if metrics is not None else info.get("metrics", {}),
    }
    if extra:
        meta.update(extra)
    save_tensors(model.state_dict(), folder / WEIGHTS_FILE, metadata={"format": "pt", "library": "zoo"})
    atomic_write_json(folder / CONFIG_FILE, meta)
    model.pretrained_info = {
        k: meta[k] for k in ("plugin", "plugin_distribution", "plugin_version", "dataset", "dataset_options", "metrics")
    }
    return folder


def read_config(folder) -> dict[str, Any]:
    """Read and check ``config.json`` of a saved model folder.

    The file may come from anyone: its size, nesting and integer lengths are bounded and every
    top-level field has its type checked here, so later code never meets a list where it expects
    a name or a 5000-digit number where it expects a size.
    """
    path = Path(folder) / CONFIG_FILE
    try:
        if not Path(folder).is_dir():
            raise WeightsError(f"{short_path(folder)}: not a folder")
        if not path.is_file():
            raise WeightsError(f"{path}: file not found (a zoo model folder has {CONFIG_FILE} and {WEIGHTS_FILE})")
    except OSError as exc:  # a name too long
        raise WeightsError(f"{short_path(path)}: cannot read ({exc.strerror or _first_line(exc)})") from None
    meta = read_json(path, MAX_CONFIG_BYTES, "a zoo config")
    if not isinstance(meta, dict):
        raise WeightsError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    for key in ("format_version", "architecture", "config"):
        if key not in meta:
            raise WeightsError(f"{path}: missing key {key!r}")
    version = meta["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise WeightsError(f"{path}: field format_version must be a positive integer, got {_short(version)}")
    if version > FORMAT_VERSION:
        raise WeightsError(
            f"{path}: format_version {version} is newer than this zoo reads ({FORMAT_VERSION}); upgrade zoo"
        )
    arch = meta["architecture"]
    if not isinstance(arch, str) or not arch or len(arch) > 200:
        raise WeightsError(f"{path}: field architecture must be a name (a short string), got {_short(arch)}")
    if not isinstance(meta["config"], dict):
        raise WeightsError(f"{path}: field config must be a JSON object, got {type(meta['config']).__name__}")
    for key, kinds, what in (
        ("plugin", (str,), "a string"),
        ("plugin_distribution", (str,), "a string"),
        ("plugin_version", (str,), "a string"),
        ("dataset", (str, type(None)), "a string or null"),
        ("dataset_options", (dict, type(None)), "an object"),
        ("metrics", (dict, type(None)), "an object"),
        ("recipe", (str, type(None)), "a string or null"),
        ("command", (str, type(None)), "a string or null"),
        ("base_model", (str, type(None)), "a string or null"),
        ("license", (str, type(None)), "a string or null"),
    ):
        if key in meta and not isinstance(meta[key], kinds):
            raise WeightsError(f"{path}: field {key} must be {what}, got {_short(meta[key])}")
    _check_metrics(meta.get("metrics") or {}, path)
    return meta


_NUMBER = (int, float)
_METRIC_FIELDS = {  # what zoo eval --save writes per split; each checked where config.json is read
    "nll_nats": (_NUMBER, "a number"),
    "bits_per_dim": (_NUMBER, "a number"),
    "n_images": ((int,), "an integer"),
    "k": ((int,), "an integer"),
    "extra": ((dict,), "an object"),
    "options": ((dict,), "an object"),
    "estimator": ((str,), "a string"),
    "dataset": ((str,), "a string"),
    "split": ((str,), "a string"),
    "bound": ((bool,), "true or false"),
}


def _check_metrics(metrics: dict, path: Path) -> None:
    """The ``metrics`` of a config, one object per split, with the types zoo writes: a downloaded
    ``"nll_nats": "abc"`` is refused here in one line, not met as a traceback in ``zoo info`` or a card."""
    for raw, result in metrics.items():
        split = printable(raw, 60)  # a key from anyone: shown without its line breaks or escapes
        if not isinstance(result, dict):
            raise WeightsError(f"{path}: field metrics.{split} must be an object, got {_short(result)}")
        for key, (kinds, what) in _METRIC_FIELDS.items():
            value = result.get(key)
            if value is None:
                continue
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise WeightsError(f"{path}: field metrics.{split}.{key} must be {what}, got {_short(value)}")
        for raw_key, value in (result.get("extra") or {}).items():
            key = printable(raw_key, 60)
            if isinstance(value, bool) or not isinstance(value, _NUMBER):
                raise WeightsError(f"{path}: field metrics.{split}.extra.{key} must be a number, got {_short(value)}")


class _LongInteger:
    """Stands in for an integer literal too long to be a setting, so that the check can name its field."""

    def __init__(self, digits: int):
        self.digits = digits


def _parse_int(text: str):
    digits = len(text.lstrip("-"))
    return _LongInteger(digits) if digits > MAX_JSON_DIGITS else int(text)


def read_json(path: Path, limit: int, what: str) -> Any:
    """An untrusted JSON file, read with a size bound and parsed by :func:`parse_json`; ``what`` names what the
    file should be (``"a zoo config"``) in the one-line error of a file over ``limit`` bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:  # a name too long, no permission, a folder that vanished
        raise WeightsError(f"{short_path(path)}: cannot read ({exc.strerror or _first_line(exc)})") from None
    if len(data) > limit:
        raise WeightsError(f"{path}: larger than {limit} bytes; not {what}")
    return parse_json(data, path)


def parse_json(data: bytes | str, path) -> Any:
    """JSON from an untrusted file, or a one-line WeightsError naming the file (and the field where known).

    Python's parser recurses once per nesting level and turns every digit string into an int:
    deep nesting ends in RecursionError and a 5000-digit integer in a ValueError that names no
    field. Both become clear errors here, and the parsed value is walked once to bound its depth.
    """
    try:
        obj = json.loads(data, parse_int=_parse_int)
    except RecursionError:
        raise WeightsError(f"{path}: JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise WeightsError(f"{path}: not valid JSON ({_first_line(exc)})") from None
    stack = [(obj, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise WeightsError(f"{path}: field {_field(where)} is nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(value, _LongInteger):
            raise WeightsError(
                f"{path}: field {_field(where)} is an integer of {value.digits} digits "
                f"(at most {MAX_JSON_DIGITS} are accepted)"
            )
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
    return obj


def _field(where: str) -> str:
    return (where if len(where) <= 80 else where[:77] + "...") or "(the top level)"


def _short(value: Any) -> str:
    """A value for an error message: its repr, cut to one readable line."""
    text = repr(value) if not isinstance(value, _LongInteger) else f"an integer of {value.digits} digits"
    return text if len(text) <= 60 else f"{type(value).__name__} {text[:50]}..."


def compare_header(expected: dict, header: dict, weights_path, arch: str) -> None:
    """Refuse, in one line, a safetensors header (name -> (shape, dtype name)) that is not the state dict
    ``expected`` (from :func:`_expected_tensors`): a tensor missing or extra, another shape, another kind of
    dtype. Floating dtypes may differ: they are cast on load."""
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing:
        raise WeightsError(f"{weights_path}: missing tensor(s) {', '.join(missing[:5])} for {arch}")
    if extra:
        raise WeightsError(f"{weights_path}: unexpected tensor(s) {', '.join(map(repr, extra[:5]))} for {arch}")
    for key, (shape, dtype) in expected.items():
        found_shape, found_dtype = header[key]
        if found_shape != shape:
            raise WeightsError(f"{weights_path}: tensor {key!r} has shape {found_shape}, the config needs {shape}")
        found = _DTYPES.get(found_dtype)
        if found != dtype and not (found is not None and found.is_floating_point and dtype.is_floating_point):
            raise WeightsError(f"{weights_path}: tensor {key!r} has dtype {found or found_dtype}, expected {dtype}")


def header_checker(folder: Path):
    """A check of a weights header against the config.json in ``folder``, for a download to run on the
    header's bytes before the body is fetched (:mod:`zoo.transfer`); None when the config cannot say
    (an unknown architecture, an invalid config: loading the folder refuses those in its own words)."""
    try:
        meta = read_config(folder)
        arch = meta["architecture"]
        spec = get_registry().model(arch)
        config = spec.cls.config_class.model_validate(meta["config"])
        expected = _expected_tensors(spec.cls, config, folder / CONFIG_FILE, arch)
    except (WeightsError, UnknownNameError, ValidationError):
        return None

    def check(header: dict) -> None:
        compare_header(expected, header, WEIGHTS_FILE, arch)

    return check


def _expected_tensors(cls, config, cfg_path: Path, arch: str) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Name -> (shape, dtype) of the state dict the config implies, from a model built on the meta device.

    The meta device allocates nothing, so a config that asks for 10^9 hidden units costs
    nothing here: the weights file must then hold exactly that much data before anything is
    materialised. A model that cannot be built on the meta device is refused, never built for
    real: that real build is what a 549-byte hostile config.json turns into 200 GB.
    """
    try:
        model = meta_model(cls, config)
    except Exception as exc:  # noqa: BLE001 - a model that rejects its config, or one that reads tensor values
        reason = _first_line(exc)
        if "meta" not in reason:
            raise WeightsError(f"{cfg_path}: cannot build {arch} from this config ({reason})") from None
        raise WeightsError(
            f"{cfg_path}: cannot size {arch} from this config without building it ({reason}); "
            "its constructor must work on the meta device (see zoo.testing.check_hostile_folder)"
        ) from None
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


FLOAT_DTYPES = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float64": torch.float64,
}


def torch_dtype(dtype: torch.dtype | str | None) -> torch.dtype | str | None:
    """``dtype=`` of a load as a torch float dtype, ``"auto"`` or None; else one ArgumentError naming the choices."""
    if dtype is None or dtype == "auto" or (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        return dtype
    name = dtype.removeprefix("torch.") if isinstance(dtype, str) else None
    if name in FLOAT_DTYPES:
        return FLOAT_DTYPES[name]
    raise ArgumentError(
        f"dtype={_short(dtype)} is not a floating-point dtype; use one of {', '.join(FLOAT_DTYPES)} "
        "(a name or torch.<name>) or 'auto' for the stored dtype"
    )


def _build(cls, config, cfg_path: Path, arch: str):
    try:
        return cls(config)
    except Exception as exc:  # noqa: BLE001 - a constructor that rejects the config: one line, naming the file
        raise WeightsError(f"{cfg_path}: cannot build {arch} from this config ({_first_line(exc)})") from None


def load_folder(folder, map_location: str | torch.device = "cpu", dtype: torch.dtype | str | None = None):
    """Rebuild the exact model saved in ``folder``; every mismatch is a one-line WeightsError.

    Floating-point weights may be stored in any float dtype (a model saved after
    ``model.to(torch.bfloat16)`` holds bf16); they load cast to ``dtype``: float32 when None (what a
    freshly built model has), the stored dtype with ``"auto"``, as ``from_pretrained`` elsewhere does.

    Order matters for untrusted folders: the config is parsed with bounds, validated (the
    architecture's config has upper bounds on every size), the safetensors header is compared
    with the shapes and dtypes the config implies, and only then are tensors read (refusing
    NaN and infinity) and the model materialised. Nothing here executes code from the folder.
    """

    folder = Path(folder)
    wanted = torch_dtype(dtype)
    meta = read_config(folder)
    cfg_path = folder / CONFIG_FILE
    weights_path = folder / WEIGHTS_FILE
    arch = meta["architecture"]
    try:
        spec = get_registry().model(arch)
    except UnknownNameError as exc:
        dist = install_name(meta.get("plugin_distribution") or "", meta.get("plugin") or "")
        version = plain_version(meta.get("plugin_version"))
        made = f"; {version} made these weights" if version else ""
        how = f": pip install {dist}{made}" if dist else " (config.json names no installable distribution)"
        raise WeightsError(f"{cfg_path}: {exc}; install the plugin that provides it{how}") from None
    try:
        config = spec.cls.config_class.model_validate(meta["config"])
    except ValidationError as exc:
        raise ConfigFileError(f"{cfg_path}: invalid config for {arch}: {validation_problems(exc)}") from None
    header = read_header(weights_path)
    expected = _expected_tensors(spec.cls, config, cfg_path, arch)
    compare_header(expected, header, weights_path, arch)
    if wanted == "auto":
        stored = [_DTYPES[header[k][1]] for k, (_, d) in expected.items() if d.is_floating_point]
        wanted = stored[0] if stored else None
    tensors = load_tensors(weights_path, finite=True)
    model = _build(spec.cls, config, cfg_path, arch)
    model.load_state_dict(tensors)  # copies into the built parameters, casting a float dtype to theirs
    model.to(map_location, dtype=wanted)
    _check_cast(model, weights_path, wanted)
    model.eval()
    model.pretrained_info = {
        "plugin": meta.get("plugin", ""),
        "plugin_distribution": meta.get("plugin_distribution", ""),
        "plugin_version": meta.get("plugin_version", ""),
        "dataset": meta.get("dataset"),
        "dataset_options": meta.get("dataset_options") or {},
        "metrics": meta.get("metrics") or {},
        "source": str(folder),
    }
    return model
