"""The contracts every model, trainer and evaluator in the zoo follows.

Images are integer tensors of shape ``(B, C, H, W)`` with values in ``0..levels-1``
(levels = 2 for binarized data, 17 for scikit-learn digits, 256 for 8-bit images).
Likelihoods are in **nats per image**; bits per dimension come from
:func:`zoo.evaluation.bits_per_dim`, one function for every model.

The contracts import no file, Hub or registry module: they sit below the registry, which checks
every registered model class with ``issubclass(cls, Model)``. The I/O methods of :class:`Model`
(:meth:`~Model.from_pretrained`, :meth:`~Model.save_pretrained`, :meth:`~Model.push_to_hub`) call a
:class:`ModelIO` that the layer above supplies (:mod:`zoo.loading`, which ``import zoo`` always imports),
so the dependency is passed in from above instead of imported from below.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import BaseModel

from .config import ModelConfig
from .errors import ArgumentError, ImageError, ZooError
from .sampling import IncrementalSampler, complete_autoregressive, sample_autoregressive
from .train_config import TrainConfig, TrainResult

if TYPE_CHECKING:  # annotations only: the data layer sits above the contract (it needs the registry)
    from .data import ImageSet

__all__ = ["ModelConfig", "Model", "AutoregressiveModel", "Trainer", "Evaluator", "ModelIO", "provide_io"]


@dataclass(frozen=True)
class ModelIO:
    """The file and Hub operations behind :class:`Model`'s I/O methods, supplied from the layer above.

    They need the registry (to name a folder's architecture and plugin), and the registry needs this
    module (to check model classes), so this module cannot import them: :mod:`zoo.loading` hands them
    in with :func:`provide_io` when it is imported. ``save`` and ``push`` take the model first, ``load``
    the name (and ``expect=`` the class); then each takes the method's own arguments.
    """

    load: Callable[..., Any]  # (name_or_path, *, expect=cls, **options) -> a loaded model
    save: Callable[..., Path]  # (model, folder, **kwargs) -> folder; zoo.weights.save_pretrained
    push: Callable[..., str]  # (model, repo_id, **kwargs) -> commit URL; zoo.publish.push_to_hub


_io: ModelIO | None = None


def provide_io(io: ModelIO) -> None:
    """Supply the operations :class:`Model`'s I/O methods delegate to (called once, by :mod:`zoo.loading`)."""
    global _io
    _io = io


def _model_io() -> ModelIO:
    if _io is None:  # only while `import zoo` is still running: zoo.loading supplies it on the way
        raise ZooError("zoo's model I/O is not loaded yet: load or save models after `import zoo` has finished")
    return _io


class Model(torch.nn.Module, abc.ABC):
    """A generative image model.

    Subclasses set ``architecture`` (the registry name) and ``config_class`` and
    implement :meth:`loss`, :meth:`log_prob` and :meth:`sample`.
    """

    architecture: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    autoregressive: ClassVar[bool] = False
    #: arXiv ids of the papers the architecture follows (``("1601.06759",)``): model cards link them
    #: and the Hub lists the model under each paper.
    papers: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def nll_estimator(cls, config: ModelConfig) -> str | None:
        """None when ``log_prob`` is the exact log-likelihood; else the estimator of its bound, e.g.
        ``"IWAE k=500"``: every figure of such a model is then printed as an upper bound on the NLL,
        ``<= 86.28 (IWAE k=500)``, so it is never read as an exact likelihood."""
        return None

    @classmethod
    def loss_estimator(cls, config: ModelConfig) -> str | None:
        """What :meth:`loss` estimates, named in the training curve's legend (``"negative ELBO, L=1"``);
        None: the legend says the exact NLL for an autoregressive model, else "the model's loss"."""
        return None

    def card_figures(self, folder: Path, name: str, seed: int = 0) -> list[tuple[str, str, str]]:
        """Figures of the model's own that its card shows, beyond the samples, completions and curve.

        Write each into ``folder`` as ``figure-NAME.png`` (``zoo.folders.MODEL_FIGURES``: what ``zoo push``
        uploads and ``--overwrite`` removes), with a seeded generator so it is reproducible, and return
        ``(file name, heading, caption)`` for each; :func:`zoo.cards.write_model_card` links them in
        that order. None by default. ``name`` is the model's card name, for the figure's title.
        """
        return []

    #: Where the weights came from, filled by :func:`zoo.load` and by training: ``plugin``,
    #: ``dataset``, ``dataset_options``, ``metrics`` (as in config.json) and ``source`` (the folder).
    #: Empty for a fresh model; :meth:`save_pretrained` writes it back.
    pretrained_info: dict[str, Any]
    #: Where a loaded model came from, as timm's ``pretrained_cfg`` says it (filled by :func:`zoo.load`):
    #: ``name``, ``source`` (folder, bundled, hub), ``repo_id``, ``revision``, ``sha256`` of the weights,
    #: ``dataset``, ``dataset_options``, ``metrics`` and ``recipe``. Empty for a fresh or trained model.
    pretrained_cfg: dict[str, Any]

    def __init__(self, config: ModelConfig):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.pretrained_info = {}
        self.pretrained_cfg = {}

    # -- the image contract -------------------------------------------------
    def check_images(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """Return ``x`` as int64 after checking dtype, shape and value range; else ImageError."""
        cfg = self.config
        if not isinstance(x, torch.Tensor):
            raise ImageError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            raise ImageError(
                f"{name} must be an integer tensor with values in 0..{cfg.levels - 1}, got dtype {x.dtype}"
            )
        want = (cfg.channels, cfg.height, cfg.width)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ImageError(
                f"{name} must have shape (B, {want[0]}, {want[1]}, {want[2]}) for "
                f"{self.architecture or type(self).__name__}, got {tuple(x.shape)}"
            )
        if x.numel():
            lo, hi = int(x.min()), int(x.max())
            if lo < 0 or hi >= cfg.levels:
                raise ImageError(
                    f"{name} values must be in 0..{cfg.levels - 1} (levels={cfg.levels}), found {lo}..{hi}"
                )
        return x.long()

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """Map integer levels to floats in [-1, 1] of the model's dtype, the network input of every pixel model.

        Following the parameters' dtype is what lets ``model.to(torch.bfloat16)`` or ``model.double()``
        run without casts inside every architecture.
        """
        return x.to(self.dtype) * (2.0 / (self.config.levels - 1)) - 1.0

    @property
    def dtype(self) -> torch.dtype:
        """The floating dtype of the parameters (float32 for a model without parameters)."""
        p = next((p for p in self.parameters() if p.is_floating_point()), None)
        return p.dtype if p is not None else torch.float32

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """``model(x)`` is ``model.log_prob(x)``, so that hooks, ``torch.compile(model)`` and wrappers work."""
        return self.log_prob(x, **kwargs)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        revision: str | None = None,
        dtype: torch.dtype | str | None = None,
        device: str | torch.device | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        force_download: bool = False,
        token: str | bool | None = None,
        torch_dtype: torch.dtype | str | None = None,
    ) -> Model:
        """:func:`zoo.load` for this class: a pretrained name, a Hub repo or a folder holding a ``cls`` model.

        The arguments are :func:`zoo.load`'s. Called on :class:`Model` itself it loads any model; on an
        architecture's class, a folder holding another architecture is refused in one line.
        """
        return _model_io().load(
            name_or_path,
            revision=revision,
            dtype=dtype,
            device=device,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            force_download=force_download,
            token=token,
            torch_dtype=torch_dtype,
            expect=cls,
        )

    def save_pretrained(self, folder, *, push_to_hub: bool = False, repo_id: str | None = None, **kwargs) -> Path:
        """Write config.json + model.safetensors into ``folder`` (see :func:`zoo.save_pretrained`).

        ``push_to_hub=True`` (diffusers' and transformers' flag) then publishes the folder to ``repo_id``
        (default: the folder's name) with :func:`zoo.push_to_hub`, in one commit.
        """
        if repo_id is not None and not push_to_hub:
            raise ArgumentError("repo_id= names where push_to_hub=True publishes; add push_to_hub=True")
        saved = _model_io().save(self, folder, **kwargs)
        if push_to_hub:
            _model_io().push(saved, repo_id or Path(folder).name)
        return saved

    def push_to_hub(self, repo_id: str, **kwargs) -> str:
        """Publish this model to the Hub in one commit (see :func:`zoo.push_to_hub`); returns the commit URL."""

        return _model_io().push(self, repo_id, **kwargs)

    @property
    def num_classes(self) -> int | None:
        """Classes of a class-conditional model (its config's ``num_classes``); None when unconditional."""
        return getattr(self.config, "num_classes", None)

    @property
    def conditional(self) -> bool:
        """True when ``loss``, ``log_prob`` and ``sample`` need ``labels=`` (class-conditional models).

        The default trainer and evaluator then pass each batch's labels, int64 ``(B,)``.
        """
        return self.num_classes is not None

    def check_labels(self, labels, n: int) -> torch.Tensor | None:
        """``labels`` as int64 ``(n,)`` on the model's device (a single int is every image's class);
        None for an unconditional model, which refuses labels. Else one ArgumentError naming the problem."""
        k, what = self.num_classes, self.architecture or type(self).__name__
        if k is None:
            if labels is not None:
                raise ArgumentError(f"this {what} is unconditional (num_classes=None): do not pass labels")
            return None
        if labels is None:
            raise ArgumentError(f"this {what} is class-conditional (num_classes={k}): pass labels, ints in 0..{k - 1}")
        labels = torch.as_tensor(labels, device=self.device)
        if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
            raise ArgumentError(f"labels must be integers in 0..{k - 1}, got dtype {labels.dtype}")
        if labels.dim() == 0:
            labels = labels.expand(n)
        if tuple(labels.shape) != (n,):
            raise ArgumentError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= k):
            raise ArgumentError(f"labels must be in 0..{k - 1}, found {int(labels.min())}..{int(labels.max())}")
        return labels.long()

    @property
    def device(self) -> torch.device:
        p = next(self.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    # -- the model contract -------------------------------------------------
    @abc.abstractmethod
    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Scalar to minimise: mean over the batch, in nats per image (``labels`` for a conditional model)."""

    @abc.abstractmethod
    def log_prob(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Per-image log-likelihood ``(B,)`` in nats (a documented lower bound for latent models)."""

    @abc.abstractmethod
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``n`` images as an int64 tensor ``(n, C, H, W)`` with values in 0..levels-1 (of classes ``labels``)."""


class AutoregressiveModel(Model):
    """A model with an exact factorisation p(x) = prod_i p(x_i | x_<i) in raster order.

    Pixels go row by row, left to right; inside a pixel, channels go R, G, B. A subclass
    implements only :meth:`logits` (and, for speed, :meth:`incremental_sampler`); the likelihood,
    sampling and completion follow. ``labels`` reach ``logits`` and the sampler only for a
    class-conditional model (:attr:`num_classes` set), checked by :meth:`check_labels` first.
    """

    autoregressive: ClassVar[bool] = True

    @abc.abstractmethod
    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Unnormalised log-probabilities ``(B, levels, C, H, W)`` for every channel of every pixel.

        The entry for channel c of pixel (i, j) may depend only on pixels before (i, j) in
        raster order, on channels < c of pixel (i, j) and on the image's label. ``x`` is already
        checked (int64), ``labels`` too (int64 ``(B,)``, None for an unconditional model).
        """

    def log_prob(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Exact log-likelihood in nats per image: the sum of per-channel categorical terms."""
        x = self.check_images(x)
        labels = self.check_labels(labels, len(x))
        logits = self.logits(x) if labels is None else self.logits(x, labels)
        nll = F.cross_entropy(logits, x, reduction="none")
        return -nll.flatten(1).sum(1)

    def loss(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return -self.log_prob(x, labels).mean()

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        method: str = "auto",
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return sample_autoregressive(
            self, n, generator=generator, temperature=temperature, method=method, labels=labels
        )

    @torch.no_grad()
    def complete(
        self,
        x: torch.Tensor,
        known: torch.Tensor,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        method: str = "auto",
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Fill the pixels where ``known`` is False, conditioned on the known pixels before them.

        ``known`` is a bool tensor broadcastable to ``x``. Raster order means a pixel is only
        conditioned on known pixels *earlier* in the order: exact for an occluded bottom half,
        an approximation for masks with known pixels after unknown ones.
        """
        return complete_autoregressive(
            self, x, known, generator=generator, temperature=temperature, method=method, labels=labels
        )

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None) -> IncrementalSampler | None:
        """A fast exact sampler for ``n`` images (of classes ``labels``), or None to use the naive one.

        It follows :class:`zoo.sampling.IncrementalSampler` (and :class:`~zoo.sampling.PositionSampler`
        for CUDA-graph replay); ``zoo.testing.check_fast_sampler`` checks it against the naive sampler.
        """
        return None


class Trainer(abc.ABC):
    """Fits a model to data. The default is :class:`zoo.training.DefaultTrainer`.

    ``config_class`` holds the trainer's settings, as a model's ``config_class`` holds the model's: a
    pydantic model whose fields ``zoo train --set key=value`` and ``zoo.train(settings=)`` fill (a key
    goes to the model's config when it has that field, else here; anything else is refused). The front
    door validates the settings with it, records them in train_config.json (a resumed run may change
    only ``zoo.folders.RESUMABLE_CHANGES`` against its defaults, ``config_class()``, so give every field
    a default) and passes them to :meth:`fit` as ``config``. It is :class:`~zoo.train_config.TrainConfig`,
    the default trainer's, unless a trainer declares settings of its own; the front door reads ``seed``
    (the model's initialisation) and ``eval_batch_size`` (the final evaluation) from them when they have
    those fields.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[BaseModel]] = TrainConfig

    @abc.abstractmethod
    def fit(
        self,
        model: Model,
        train: ImageSet,
        val: ImageSet | None = None,
        config: BaseModel | None = None,
        out: str | Path | None = None,
        resume: bool = False,
    ) -> TrainResult:
        """Train ``model`` in place on ``train`` (validating on ``val``) with ``config``, a ``config_class``
        (None: its defaults); with ``out``, checkpoint into that run folder, and with ``resume`` continue
        from its last checkpoint. The model is saved as ``fit`` leaves it; the summary goes to
        train_result.json."""


class Evaluator(abc.ABC):
    """Measures a model on data. The default is :class:`zoo.evaluation.DefaultEvaluator`."""

    name: ClassVar[str] = ""

    @abc.abstractmethod
    def evaluate(self, model: Model, data: Any, **kwargs: Any) -> Any:
        """Return metrics (NLL in nats per image, bits/dim, image count) of ``model`` on ``data``."""


LN2 = math.log(2.0)
