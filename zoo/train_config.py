"""The default trainer's settings (``TrainConfig``), a run's summary (``TrainResult``), and the routing of
``--set`` values between a model's config and a trainer's settings.

These are plain pydantic models with no torch in them, so the ``Trainer`` contract (:mod:`zoo.interfaces`)
can name ``TrainConfig`` as the settings a trainer takes unless it declares its own ``config_class``.
``train_config.json`` and every checkpoint's ``latest.json`` store ``TrainConfig.model_dump(mode="json")``:
a field renamed or removed here is a format change.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError, unknown_name, validation_problems

__all__ = ["TrainConfig", "TrainResult", "split_settings", "validated"]


class TrainConfig(BaseModel):
    """How to train; every field can be set with ``zoo train --set key=value``."""

    model_config = ConfigDict(extra="forbid")

    epochs: int | None = Field(
        10, ge=1, description="passes over the training split (None, the default with a budget: until the budget ends)"
    )
    batch_size: int = Field(64, ge=1, description="images per optimizer step (global, split across processes)")
    lr: float = Field(1e-3, gt=0, description="learning rate")
    optimizer: Literal["adam", "adagrad", "sgd", "rmsprop"] = "adam"
    momentum: float = Field(0.9, ge=0, description="SGD momentum")
    schedule: Literal["constant", "cosine", "step", "plateau"] = Field(
        "constant",
        description="cosine: to 0 over all steps; step: x gamma every step_epochs; plateau: x gamma on a stall",
    )
    gamma: float = Field(0.5, gt=0, le=1, description="decay factor of the step and plateau schedules")
    step_epochs: int = Field(10, ge=1, description="epochs between decays of the step schedule")
    plateau_patience: int = Field(2, ge=0, description="epochs without improvement before a plateau decay")
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float | None = Field(None, gt=0, description="max global gradient norm (None: no clipping)")
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="seeds the initialisation, the data order and every random draw"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    patience: int | None = Field(None, ge=1, description="stop after this many epochs without a better val NLL")
    checkpoint_every: int | None = Field(None, ge=1, description="also checkpoint every N steps (always at epoch ends)")
    eval_batch_size: int = Field(256, ge=1)
    validate_every: int = Field(
        1, ge=1, description="validate every N epochs (and after the last); patience counts validations"
    )
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes that gather batches")
    progress: bool = Field(True, description="tqdm progress bar and epoch log lines (rank 0)")
    tensorboard: bool = Field(True, description="per-epoch TensorBoard events in OUT/tensorboard (if it is installed)")
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32", description="bf16: bfloat16 autocast; fp16: float16 autocast with a grad scaler; weights stay fp32"
    )
    channels_last: bool = Field(False, description="NHWC memory layout of weights and images (faster convs)")
    compile: bool = Field(False, description="torch.compile the training loss (first steps are slow while it compiles)")
    compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = Field(
        "default", description="torch.compile mode; reduce-overhead uses CUDA graphs"
    )
    # -- what buys more NLL per second: averaged weights, a warm-up, a budget the schedule spans --------
    ema: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="decay of an exponential moving average of the weights (e.g. 0.999), used for validation, "
        "the best model and the saved model; 0 or None: off",
    )
    warmup: int = Field(0, ge=0, description="steps of linear learning-rate warm-up before the schedule starts")
    max_steps: int | None = Field(None, ge=1, description="end the run after this many optimizer steps")
    max_minutes: float | None = Field(
        None, gt=0, description="end the run after this much training time (cosine then follows the clock)"
    )

    @model_validator(mode="before")
    @classmethod
    def _budget_replaces_epochs(cls, data: Any) -> Any:
        """``--set max_minutes=60`` alone trains for an hour: a budget without ``epochs`` lifts the epoch limit."""
        if isinstance(data, dict) and "epochs" not in data and (data.get("max_steps") or data.get("max_minutes")):
            return {**data, "epochs": None}
        return data

    @model_validator(mode="after")
    def _run_ends(self) -> TrainConfig:
        if self.epochs is None and self.max_steps is None and self.max_minutes is None:
            raise ValueError("epochs=None needs a budget: set epochs, max_steps or max_minutes")
        return self


class TrainResult(BaseModel):
    """Summary of a fit (``train_result.json``); ``history`` has one entry per epoch."""

    epochs: int
    steps: int
    best_epoch: int | None = None
    best_val_nll: float | None = None
    best_val_bits_per_dim: float | None = None
    final_train_nll: float | None = None
    seconds: float
    stopped_early: bool = False
    budget_spent: Literal["max_steps", "max_minutes"] | None = Field(
        None, description="the budget that ended the run (None: it ran its epochs or stopped early)"
    )
    hardware: str = Field("", description="where the run trained, e.g. 'NVIDIA H200' or '2-core x86_64 CPU'")
    history: list[dict[str, int | float]] = Field(default_factory=list)


def split_settings(
    config_class: type[BaseModel], settings: dict[str, Any], train_class: type[BaseModel] = TrainConfig
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route ``--set`` values: fields of the model's ``config_class``, then of the trainer's settings class
    ``train_class`` (its ``config_class``; the default trainer's is ``TrainConfig``); anything else is an error.

    A name that both classes have goes to the model's config.
    """
    model_fields, train_fields = set(config_class.model_fields), set(train_class.model_fields)
    model_part, train_part, unknown = {}, {}, []
    for key, value in settings.items():
        if key in model_fields:
            model_part[key] = value
        elif key in train_fields:
            train_part[key] = value
        else:
            unknown.append(key)
    if unknown:
        hint = str(unknown_name("setting", unknown[0], model_fields | train_fields)).split(";")[1:]
        raise ConfigError(
            f"unknown setting(s) {', '.join(map(repr, unknown))}{';' + hint[0] if hint else ''}; "
            f"model config fields: {', '.join(sorted(model_fields))}; "
            f"training fields: {', '.join(sorted(train_fields))}"
        )
    return model_part, train_part


def validated(cls, values: dict[str, Any], what: str):
    """``cls(**values)``, with pydantic's errors turned into one ``ConfigError`` line naming ``what``."""
    try:
        return cls(**values)
    except ValidationError as exc:
        raise ConfigError(f"invalid {what}: {validation_problems(exc)}") from None
