"""Model folders and run folders: every path and file name in them, and who may write there.

A newcomer who wants to know where a file of a run folder comes from reads this module: each name
is spelt here once (the three files of the model format, ``config.json``, ``model.safetensors`` and
``README.md``, are spelt by :mod:`zoo.weights`, which reads and writes that format and sits below
this module). The writers elsewhere (:mod:`zoo.figures`, :mod:`zoo.checkpoint`, :mod:`zoo.cards`,
:mod:`zoo.events`) take their paths from here.

:meth:`RunFolder.claim` holds a folder for one run: an ``fcntl.flock`` on ``OUT/.zoo.lock`` (the
kernel drops it when the process ends however it ends, so a killed run never leaves a stale lock),
and the one rule about what a folder may already hold. :class:`RunSpec` is ``train_config.json``,
how a run was set up, and :meth:`RunSpec.diff` is the one rule for what a resumed run may change.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError, WeightsError, ZooError
from .specs import BUNDLED_DIR, DeferredEntry, PretrainedEntry
from .weights import (
    CARD_FILE,
    CONFIG_FILE,
    WEIGHTS_FILE,
    atomic_write_json,
    read_config,
    read_json,
    short_path,
    write_error,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; the emptiness check still protects results
    fcntl = None

__all__ = [
    "ModelFolder",
    "RunFolder",
    "RunSpec",
    "RESUMABLE_CHANGES",
    "SAMPLES_FILE",
    "COMPLETIONS_FILE",
    "CURVES_FILE",
    "MODEL_FIGURES",
    "HISTORY_FILE",
    "RUN_SPEC_FILE",
    "RUN_RESULT_FILE",
    "CHECKPOINT_DIR",
    "LATEST",
    "BEST",
    "EVENTS_DIR",
    "LOCK_FILE",
    "RECIPE_INTRO",
    "bundled_entry",
    "checkpoint_name",
    "remove_stale_temp",
]

# -- the names -------------------------------------------------------------------------------------
SAMPLES_FILE = "samples.png"  # the card's seeded sample grid
COMPLETIONS_FILE = "completions.png"  # the card's completion figure (autoregressive models)
CURVES_FILE = "curves.png"  # train and val bits/dim per epoch
MODEL_FIGURES = "figure-*.png"  # a model's own card figures (zoo.Model.card_figures), e.g. a VAE's traversals
HISTORY_FILE = "history.csv"  # one row per epoch
RUN_SPEC_FILE = "train_config.json"  # how the run was set up: a RunSpec
RUN_RESULT_FILE = "train_result.json"  # what fit returned: epochs, steps, seconds, hardware, history
CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"  # in CHECKPOINT_DIR: the commit point of the last checkpoint
BEST = "best.safetensors"  # in CHECKPOINT_DIR: the weights with the best validation NLL
CHECKPOINT_PATTERN = "ckpt-*.safetensors"  # in CHECKPOINT_DIR: see checkpoint_name
CHECKPOINT_NAME = re.compile(r"ckpt-[0-9]{6,}\.safetensors")  # what latest.json may name, and nothing else
EVENTS_DIR = "tensorboard"  # `tensorboard --logdir OUT/tensorboard`
EVENT_PATTERN = "events.out.tfevents.*"  # in EVENTS_DIR: what torch's SummaryWriter writes
LOCK_FILE = ".zoo.lock"
TEMP_PATTERN = ".*.tmp"  # an atomic write killed half-way (zoo.weights.atomic_write_bytes)
#: the card's line above the ```bash block that holds the recipe (zoo.cards writes it, ModelFolder.recipe reads it)
RECIPE_INTRO = "The exact command that produced these weights:"
MAX_CARD_BYTES = 1 << 20  # a card is a page of markdown: a larger README.md is not read for its recipe


def checkpoint_name(saves: int) -> str:
    """The tensors file of a run's ``saves``-th checkpoint, inside :data:`CHECKPOINT_DIR`."""
    return f"ckpt-{saves:06d}.safetensors"


def remove_stale_temp(folder: Path) -> None:
    """Temporary files of a write that was killed (``.ckpt-*.tmp`` and the like): never committed, never read."""
    for stale in Path(folder).glob(TEMP_PATTERN):
        stale.unlink(missing_ok=True)


class ModelFolder:
    """A saved model: ``config.json`` + ``model.safetensors``, and the card with its figures."""

    #: what ``zoo push`` uploads when present
    PUBLISHED = (CONFIG_FILE, WEIGHTS_FILE, CARD_FILE, SAMPLES_FILE, COMPLETIONS_FILE, CURVES_FILE, MODEL_FIGURES)

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    config = property(lambda self: self.path / CONFIG_FILE)
    weights = property(lambda self: self.path / WEIGHTS_FILE)
    card = property(lambda self: self.path / CARD_FILE)
    samples = property(lambda self: self.path / SAMPLES_FILE)
    completions = property(lambda self: self.path / COMPLETIONS_FILE)
    curves = property(lambda self: self.path / CURVES_FILE)
    history = property(lambda self: self.path / HISTORY_FILE)

    def holds_model(self) -> bool:
        return self.config.is_file() and self.weights.is_file()

    def refuse_links(self, names) -> None:
        """Refuse, in one line naming it, a symbolic link among ``names`` (paths inside the folder): zoo
        reads, writes and removes only the folder's own files, so a ``checkpoints`` link to another run or
        a ``README.md`` link to a secret is never followed."""
        for name in names:
            path = self.path / name
            if path.is_symlink():
                raise ZooError(
                    f"{short_path(path)} is a symbolic link; zoo reads, writes and removes only the folder's own "
                    "files: replace the link by the file, or use a new folder"
                )

    def read_json(self, path: Path) -> dict[str, Any]:
        """A JSON object zoo wrote beside the model (train_result.json, train_config.json), or ``{}``:
        for what only adds to a card, so a missing or damaged file leaves that part out. A file larger
        than :data:`MAX_SPEC_BYTES` is refused in one line, unread (:func:`zoo.weights.read_json`): a
        1 GB train_result.json took 2.4 GB to leave out."""
        try:
            size = path.stat().st_size if path.is_file() else None
        except OSError:
            return {}
        if size is None:
            return {}
        if size > MAX_SPEC_BYTES:
            raise WeightsError(f"{short_path(path)}: larger than {MAX_SPEC_BYTES} bytes; not a zoo run record")
        try:
            value = read_json(path, MAX_SPEC_BYTES, "a zoo run record")
        except WeightsError:
            return {}
        return value if isinstance(value, dict) else {}

    def recorded_command(self, meta: dict[str, Any] | None = None) -> str | None:
        """The command zoo recorded when it made the weights: config.json's ``recipe`` or ``command``, else
        train_config.json's ``command`` (the first of a resumed run). None when nothing was recorded.
        ``meta`` is config.json when the caller has read it already."""
        meta = self.read_json(self.config) if meta is None else meta
        run = self.read_json(self.path / RUN_SPEC_FILE)
        found = meta.get("recipe") or meta.get("command") or run.get("command")
        return found if isinstance(found, str) else None

    def recipe(self, meta: dict[str, Any] | None = None) -> str | None:
        """The exact command that produced the weights: the one zoo recorded, else the one the card shows.

        The card is the record for folders made before zoo recorded commands, or by more than one
        command (a fine-tune in two stages, a cast between them): ``zoo card --recipe`` wrote it there.
        """
        recorded = self.recorded_command(meta)
        if recorded or not self.card.is_file():
            return recorded
        with open(self.card, encoding="utf-8", errors="replace") as f:
            lines = f.read(MAX_CARD_BYTES).splitlines()
        if RECIPE_INTRO not in lines:
            return None
        block = lines[lines.index(RECIPE_INTRO) + 1 :]
        start = next((k for k, line in enumerate(block) if line.startswith("```")), None)
        if start is None:
            return None
        fence = block[start][: len(block[start]) - len(block[start].lstrip("`"))]  # the card's, or a longer one
        end = next((k for k in range(start + 1, len(block)) if block[k].strip() == fence), len(block))
        return "\n".join(block[start + 1 : end]).strip() or None


def bundled_entry(
    folder: str | Path, *, sha256: str, description: str, name: str | None = None, **fields: Any
) -> DeferredEntry:
    """The pretrained entry of a model folder a plugin ships, declared now and read from the folder on first use.

    Nothing is read here: registering every plugin opens no file. The first time the entry is used (its
    architecture, dataset, recipe ...; :class:`~zoo.specs.DeferredEntry`) the architecture, dataset and
    dataset options come from its config.json and the recipe from the folder (:meth:`ModelFolder.recipe`:
    the recorded command, else the card's), so an entry cannot disagree with the weights it names. The
    ``sha256`` pin of model.safetensors stays in the plugin's code: it is the integrity check of the
    package data, so it must not be read from beside the file it checks. ``folder`` is
    ``<package>/pretrained/<name>/`` of the registering plugin, where the registry looks for it, or just
    ``<name>``, that folder found in the registering plugin's package; ``name`` defaults to the folder's
    name; ``fields`` are the entry's other fields (``repo_id``, ``published``, an explicit ``recipe``).
    """
    path = Path(folder)
    bare = len(path.parts) == 1
    if not bare and path.parent.name != BUNDLED_DIR:
        raise ValueError(f"{path}: a bundled model folder lives in <package>/{BUNDLED_DIR}/<name>/")
    unknown = sorted(set(fields) - set(PretrainedEntry.model_fields))
    if unknown:
        raise TypeError(f"bundled_entry({path.name!r}): no such PretrainedEntry field {', '.join(unknown)}")
    package = fields.pop("package", None)
    name = name or path.name

    def read(package: str | None) -> PretrainedEntry:
        where = path
        if bare:
            if not package:
                raise ValueError(f"bundled pretrained model {name!r} names no package to find {path} in")
            where = PretrainedEntry.bundled_folder(package, path.name)
        meta = read_config(where)
        recipe = fields["recipe"] if "recipe" in fields else ModelFolder(where).recipe(meta)
        return PretrainedEntry(
            name=name,
            architecture=meta["architecture"],
            dataset=meta.get("dataset"),
            dataset_options=meta.get("dataset_options") or {},
            description=description,
            bundled=path.name,
            sha256=sha256,
            **{**fields, "recipe": recipe},
            **({"package": package} if package else {}),
        )

    return DeferredEntry(name, read, repo_id=fields.get("repo_id"), package=package)


class RunFolder(ModelFolder):
    """A training run: a model folder plus the run's settings, result, checkpoints and event files."""

    #: what zoo writes into a model or run folder: --overwrite removes exactly these (and the checkpoints)
    RESULT_FILES = (
        CONFIG_FILE,
        WEIGHTS_FILE,
        CARD_FILE,
        SAMPLES_FILE,
        RUN_SPEC_FILE,
        RUN_RESULT_FILE,
        HISTORY_FILE,
        CURVES_FILE,
        COMPLETIONS_FILE,
    )
    CHECKPOINT_FILES = (LATEST, BEST, CHECKPOINT_PATTERN, TEMP_PATTERN)
    TEMP_FILES = tuple(f".{name}.*.tmp" for name in RESULT_FILES)  # atomic writes killed half-way

    spec_file = property(lambda self: self.path / RUN_SPEC_FILE)
    result_file = property(lambda self: self.path / RUN_RESULT_FILE)
    checkpoints = property(lambda self: self.path / CHECKPOINT_DIR)
    latest = property(lambda self: self.path / CHECKPOINT_DIR / LATEST)
    best = property(lambda self: self.path / CHECKPOINT_DIR / BEST)
    events = property(lambda self: self.path / EVENTS_DIR)
    lock_file = property(lambda self: self.path / LOCK_FILE)

    def has_checkpoint(self) -> bool:
        """Whether a checkpoint was committed: the run can be resumed, and is not taken back on failure."""
        return self.latest.is_file()

    # -- reading and writing ------------------------------------------------------------------------
    def read_spec(self) -> RunSpec | None:
        """``train_config.json`` as a :class:`RunSpec`, or None when the folder has none."""
        return RunSpec.read(self.spec_file) if self.spec_file.is_file() else None

    def write_spec(self, spec: RunSpec) -> None:
        atomic_write_json(self.spec_file, spec.to_json())

    def write_result(self, result: dict[str, Any]) -> None:
        atomic_write_json(self.result_file, result)

    # -- claiming -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def claim(self, *, resume: bool = False, overwrite: bool = False, lock: bool = True) -> Iterator[RunFolder]:
        """Hold the folder for one run: locked against other runs, and empty unless resuming or overwriting.

        ``resume=True`` needs a committed checkpoint (the trainer checks its settings).
        ``overwrite=True`` removes the files zoo wrote there before (model, card, samples, run
        settings, checkpoints), so an old card never stays beside new weights; files zoo did not
        write are left alone. ``lock=False`` is for the processes of a distributed run other than
        rank 0: they neither lock nor clear (rank 0 does), since rank 0 may already have written its
        first file.

        A start that fails (an error or an interrupt before the run commits its first checkpoint: a
        fine-tune on data with other levels, a full disk) takes back what it wrote, and the folder if
        it made it, so the corrected command runs as if the failed one had never been typed. A run
        with a checkpoint is kept: ``--resume`` continues it.
        """
        out = self.path
        if overwrite and resume:
            raise ZooError("--overwrite and --resume exclude each other: resume the run, or replace it")
        if resume:
            self.check_start(resume=True)  # before anything is made: a mistyped folder is not created
        made = not _exists(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise ZooError(f"{short_path(out)}: exists and is not a folder") from None
        except OSError as exc:
            raise write_error(out, exc) from None
        if not lock:
            self.check_start(resume=resume, overwrite=overwrite)
            yield self
            return
        self._refuse_links()
        fd = self._lock() if fcntl is not None else None
        claimed = undo = False
        try:
            if resume:
                remove_stale_temp(out)  # a write killed between the final save's files, e.g. .config.json.*.tmp
            else:
                self._check_empty(overwrite)
                claimed = True
            yield self
        except BaseException:
            undo = claimed and not self.has_checkpoint()
            if undo:
                with contextlib.suppress(OSError, ZooError):
                    self._clear()
            raise
        finally:
            if fd is not None:
                self._unlock(fd)
            if undo and made:
                with contextlib.suppress(OSError):
                    out.rmdir()  # only if the failed start left it empty

    def check_start(self, *, resume: bool, overwrite: bool = False, trainer: bool = False) -> None:
        """The rule that a run neither replaces a finished run by accident nor resumes what is not there.

        ``trainer=True`` is the check of a trainer called directly (``fit(out=...)``): it names the
        checkpoint folder and the keyword, and a resume without a checkpoint starts afresh there.
        """
        if resume and not self.has_checkpoint() and not trainer:
            raise ZooError(
                f"{self.path}: nothing to resume (no {CHECKPOINT_DIR}/{LATEST}); start the run without --resume"
            )
        if not resume and not overwrite and self.has_checkpoint():
            where, how = (self.checkpoints, "resume=True, --resume") if trainer else (self.path, "--resume")
            raise ZooError(f"{where} already holds a training run; resume it ({how}) or use a new folder")

    def _lock(self) -> int:
        out, path = self.path, self.lock_file
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise write_error(path, exc) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ZooError(
                    f"{short_path(out)} is in use by another zoo run (process {holder}); "
                    "wait for it to end or use another folder"
                ) from None
            # The run before us removes the file as it ends: if it did so after we opened it, our lock is
            # on a file nobody else will open. Lock the file that is at the path now.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return fd
            os.close(fd)

    def _refuse_links(self) -> None:
        """A run writes, and ``--overwrite`` deletes, only inside its folder (see :meth:`refuse_links`)."""
        owned = [CHECKPOINT_DIR, EVENTS_DIR, *self.RESULT_FILES]
        if self.checkpoints.is_dir() and not self.checkpoints.is_symlink():
            owned += [f"{CHECKPOINT_DIR}/{LATEST}", f"{CHECKPOINT_DIR}/{BEST}"]
        self.refuse_links(owned)

    def _unlock(self, fd: int) -> None:
        """Remove the lock file while still holding the lock (see :meth:`_lock`), then release it."""
        with contextlib.suppress(OSError):
            self.lock_file.unlink()
        os.close(fd)

    def _check_empty(self, overwrite: bool) -> None:
        out = self.path
        entries = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE)
        if not entries:
            return
        if not overwrite and self._killed_start(entries):
            self._clear()  # a run killed before its first checkpoint: nothing to resume, nothing of the user's
            return
        if not overwrite:
            where = short_path(out)
            if self.has_checkpoint():
                raise ZooError(
                    f"{where} already holds a training run; resume it (--resume), replace it (--overwrite) "
                    "or use a new folder"
                )
            model = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if name in entries]
            if model:
                raise ZooError(
                    f"{where} already holds a model ({', '.join(model)}); "
                    "replace it with --overwrite or use a new folder"
                )
            raise ZooError(
                f"{where} is not empty ({len(entries)} entries, e.g. {entries[0][:60]!r}); "
                "use a new folder, or --overwrite to write into it"
            )
        self._clear()

    def _killed_start(self, entries: list[str]) -> bool:
        """Whether the folder holds only what a start writes before its first checkpoint commits (the run
        settings, an uncommitted checkpoint, event files): a SIGKILL there left a folder that a rerun refused
        as not empty and ``--resume`` as empty."""
        start = {RUN_SPEC_FILE, CHECKPOINT_DIR, EVENTS_DIR}
        if self.has_checkpoint() or not entries or RUN_SPEC_FILE not in entries:
            return False
        if any(
            name not in start and not any(fnmatch.fnmatchcase(name, p) for p in self.TEMP_FILES) for name in entries
        ):
            return False
        for folder, patterns in ((self.checkpoints, self.CHECKPOINT_FILES), (self.events, (EVENT_PATTERN,))):
            if folder.is_dir() and any(
                not any(fnmatch.fnmatchcase(p.name, q) for q in patterns) for p in folder.iterdir()
            ):
                return False  # something zoo did not write
        return True

    def _clear(self) -> None:
        """Remove what zoo writes in a model or run folder (and nothing else), the commit point first."""
        out = self.path
        try:
            self.latest.unlink(missing_ok=True)  # the commit point goes first
            for folder, patterns in ((self.checkpoints, self.CHECKPOINT_FILES), (self.events, (EVENT_PATTERN,))):
                if folder.is_dir():
                    for path in folder.iterdir():
                        if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in patterns):
                            path.unlink()
                    with contextlib.suppress(OSError):
                        folder.rmdir()  # only if nothing else is in it
            for name in self.RESULT_FILES:
                (out / name).unlink(missing_ok=True)
            for path in out.iterdir():
                if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in (*self.TEMP_FILES, MODEL_FIGURES)):
                    path.unlink()
        except OSError as exc:
            raise write_error(out, exc) from None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


# -- the run's settings ----------------------------------------------------------------------------
#: Training settings that may differ between the interrupted run and the resumed one.
RESUMABLE_CHANGES = frozenset(
    {
        "epochs",
        "progress",
        "num_workers",
        "device",
        "checkpoint_every",
        "eval_batch_size",
        "patience",
        "validate_every",
        "tensorboard",
        "max_steps",  # like epochs: a budget may be extended (the cosine schedule then stretches to the new end)
        "max_minutes",
    }
)
MAX_SPEC_BYTES = 1 << 20
_SPEC_FIELDS = {
    "architecture": str,
    "dataset": str,
    "dataset_options": dict,
    "model_config": dict,
    "train_config": dict,
}


class RunSpec(BaseModel):
    """How a run was set up: ``train_config.json``.

    ``model_settings`` and ``train_settings`` are stored under their historic keys ``model_config``
    and ``train_config`` (pydantic reserves ``model_config``). Fields zoo does not know (written by a
    newer zoo) are kept, so rewriting the file on resume loses nothing. A spec made from a checkpoint's
    ``latest.json`` holds only ``train_settings``; :meth:`diff` compares what both sides record.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    architecture: str | None = None
    dataset: str | None = None
    dataset_options: dict[str, Any] = Field(default_factory=dict)
    model_settings: dict[str, Any] | None = Field(None, alias="model_config")
    train_settings: dict[str, Any] = Field(default_factory=dict, alias="train_config")
    zoo_version: str | None = None
    command: str | None = None  # the command line that started the run (what the card shows)
    base_model: str | None = None  # a fine-tune's starting point
    resumed_with: list[str] | None = None  # the commands that resumed it

    @classmethod
    def read(cls, path: Path) -> RunSpec:
        """Read with bounds and every field's type checked, so an edited or corrupt file ends in one line
        naming the field instead of a traceback deep in ``--resume``."""
        fix = "restore the file from a copy, or start the run again in a new folder"
        try:
            record = read_json(path, MAX_SPEC_BYTES, "a zoo run record")
        except WeightsError as exc:
            raise WeightsError(f"{exc}; {fix}") from None
        if not isinstance(record, dict):
            raise WeightsError(f"{path}: not a zoo run record (a JSON object); {fix}")
        for key, kind in _SPEC_FIELDS.items():
            value = record.get(key, {} if kind is dict else None)
            if not isinstance(value, kind):
                raise WeightsError(f"{path}: field {key} must be a {kind.__name__}, got {value!r:.40}; {fix}")
        for key in ("command", "base_model", "zoo_version"):  # provenance: shown on the card, never trusted
            if not isinstance(record.get(key), (str, type(None))):
                record.pop(key)
        if not isinstance(record.get("resumed_with"), list) or not all(
            isinstance(c, str) for c in record["resumed_with"]
        ):
            record.pop("resumed_with", None)
        return cls.model_validate(record)

    def to_json(self) -> dict[str, Any]:
        """The file's content: historic key names, unset provenance left out."""
        data = self.model_dump(mode="json", by_alias=True)
        return {k: v for k, v in data.items() if v is not None or k in _SPEC_FIELDS}

    def diff(self, now: RunSpec, defaults: Mapping[str, Any]) -> list[str]:
        """What ``now`` changes against this (stored) spec that a resumed run may not change.

        A training field this spec lacks (written by an older zoo) had its ``defaults`` value; only
        :data:`RESUMABLE_CHANGES` may differ. The model config and the data options (typed, without
        ``root``) may not change at all: a run recorded with one variant of the data and continued on
        another is neither. A side that records no model config (a checkpoint's) is not compared.
        """
        before = self.train_settings
        changed = [
            f"{k}: {before.get(k, defaults.get(k))!r} -> {v!r}"
            for k, v in now.train_settings.items()
            if k not in RESUMABLE_CHANGES and before.get(k, defaults.get(k)) != v
        ]
        if self.model_settings is not None and now.model_settings is not None:
            if self.model_settings != now.model_settings:
                changed.append("the model config")
        data_before, data_now = self.dataset_options, now.dataset_options
        changed += [
            f"data option {k}: {data_before.get(k)!r} -> {data_now.get(k)!r}"
            for k in sorted(set(data_before) | set(data_now))
            if data_before.get(k) != data_now.get(k)
        ]
        return sorted(changed)

    def check_resumable(self, where, now: RunSpec, defaults: Mapping[str, Any]) -> None:
        """Refuse a resume that :meth:`diff` finds changes in, naming ``where`` the stored settings are."""
        changed = self.diff(now, defaults)
        if changed:
            raise ConfigError(
                f"{where}: cannot resume with different settings ({', '.join(changed)}); "
                f"only {', '.join(sorted(RESUMABLE_CHANGES))} may change"
            )
