"""The ``zoo`` command line: list, info, plugins, create, train, eval, sample, complete, card, push, download, demo."""

from __future__ import annotations

import argparse
import builtins
import fnmatch
import gc
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

import zoo
from zoo import evaluate, train

from . import arguments
from .api import best_bundled, dataset_info, folder_info, literal_choices
from .bounds import format_nll, stored_estimator
from .data import SPLITS, dataset_options, download, load_dataset
from .distributed import rank
from .errors import ArgumentError, ZooError, unknown_name
from .evaluation import record_metrics
from .figures import completion_figure, image_format, sample_figure
from .folders import COMPLETIONS_FILE, SAMPLES_FILE, RunFolder
from .loading import model_folder
from .plugins import SLOW_IMPORT_SECONDS
from .recipes import check_command_length, parse_settings
from .registry import get_registry
from .reproduction import reproduce
from .sampling import MAX_SAMPLES, sample_in_batches, step_work
from .sources import hub_repo_of, is_hub_repo
from .specs import PretrainedEntry
from .text import clean
from .threads import pick_threads, use_threads
from .training import TrainConfig
from .weights import read_config

__all__ = ["main", "parse_settings"]

# What the command line has imported (torch, zoo, their modules and classes) lives as long as the process:
# frozen out of the collector, it is not walked again by every full collection (0.1 s each after torch).
gc.freeze()


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


# -- verbs ---------------------------------------------------------------------
def cmd_list(args) -> None:

    reg = get_registry()
    if args.datasets:
        names = sorted(n for n in reg.datasets if fnmatch.fnmatchcase(n, args.pattern))
        infos = [dataset_info(n) for n in names]
        if args.json:
            print(json.dumps(infos, indent=2, default=str))
            return
        rows = [
            [
                i["name"],
                str(i["levels"] or "-"),
                "x".join(map(str, i["shape"] or [])) or "-",
                ", ".join(f"{o['name']}={o['default']}" for o in i["options"]),
                i["description"],
            ]
            for i in infos
        ]
        print(_table(rows, ["dataset", "levels", "shape", "options (defaults)", "description"]))
        return
    names = reg.list_models(args.pattern, args.pretrained)  # every entry, with where it lives (or that it does not)
    if args.json:
        infos = [zoo.model_info(n) for n in names]
        print(json.dumps(infos, indent=2, default=str))
        return
    if args.pretrained:
        rows = []
        for n in names:
            try:
                info = zoo.model_info(n)
            except ZooError as exc:  # one damaged entry is shown as such; it does not hide the others
                rows.append([n, "error", str(exc)[:120], "-", "-"])
                continue
            options = ", ".join(f"{k}={v}" for k, v in info["dataset_options"].items())
            test = (info["metrics"] or {}).get("test") or {}
            nll, bpd = test.get("nll_nats"), test.get("bits_per_dim")
            estimator = _estimator(info["architecture"], info.get("config"), test)
            rows.append(
                [
                    n,
                    info["where"],
                    info["dataset"] + (f" ({options})" if options else ""),
                    format_nll(nll, estimator),
                    "-" if bpd is None else ("<= " if estimator else "") + f"{bpd:.4f}",
                ]
            )
        print(_table(rows, ["name", "weights", "dataset", "test NLL (nats)", "bits/dim"]))
    else:
        rows = [[n, reg.models[n].plugin, reg.models[n].description] for n in names]
        print(_table(rows, ["architecture", "plugin", "description"]))
    broken = [p for p in reg.plugins.values() if not p.ok]
    if broken:
        print(f"\n{len(broken)} plugin(s) with errors; see `zoo plugins`", file=sys.stderr)


def _info(name: str) -> dict[str, Any]:
    """``zoo info NAME``: an architecture or pretrained model, a dataset, a model folder, or a Hub repo."""
    reg = get_registry()
    if name in reg.models or name in reg.pretrained:
        return zoo.model_info(name)
    if name in reg.datasets:
        return dataset_info(name)
    path = Path(name)
    if path.is_dir():
        return folder_info(path)
    if is_hub_repo(name):  # what zoo.load takes for a Hub repo: hf://org/name, or org/name with no such folder
        from .hub import download_repo  # the Hub stack: imported only when a Hub repo is asked about

        repo_id = hub_repo_of(name) or name
        info = folder_info(download_repo(repo_id, weights=False))  # config.json and the card: not the weights
        cache = info.pop("folder")  # what was fetched to describe it is no listing of the repo's files
        info.pop("files")
        return {"kind": "hub", "repo_id": repo_id, **{k: v for k, v in info.items() if k != "kind"}, "cache": cache}
    if len(path.parts) > 1:
        raise ArgumentError(f"{name}: no such model folder")
    return zoo.model_info(name)  # the close-match error over every name


def _print_dataset(info: dict[str, Any]) -> None:
    for key in ("name", "plugin", "description", "levels", "shape", "splits"):
        value = info[key]
        print(f"{key}: {', '.join(map(str, value)) if isinstance(value, list) and key == 'splits' else value}")
    print("options (--data-option NAME=VALUE):")
    for o in info["options"]:
        kind = "|".join(map(str, o["choices"])) if o.get("choices") else o["type"]
        if o.get("minimum") is not None or o.get("maximum") is not None:
            kind += f" {o.get('minimum', '') if o.get('minimum') is not None else ''}..{o.get('maximum') or ''}"
        print(f"  {o['name']}={o['default']} ({kind}) {o['description']}".rstrip())
    if info["folder"]:
        print(f"files: looked for in {info['folder']}/ ($ZOO_DATA/{info['name']}, or --data-option root=DIR)")
        for f in info["files"]:
            print(f"  {f}")
    else:
        print("files: none needed (ships with its plugin)")
    if info["download"]:
        print(f"download: {info['download']}")


def cmd_info(args) -> None:

    info = _info(args.name)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return
    if info["kind"] == "dataset":
        _print_dataset(info)
        return
    fields = info.pop("config_fields", {})
    config, metrics = info.pop("config", None), info.pop("metrics", None)
    for key, value in info.items():
        if value not in (None, "", [], {}):
            print(f"{key}: {value}")
    if config:
        print("config:")
        for key, value in config.items():
            print(f"  {key} = {value!r}")
    for split, m in (metrics or {}).items():
        if isinstance(m, dict) and m.get("nll_nats") is not None:
            estimator = _estimator(info.get("architecture", ""), config, m)
            print(
                f"{split}: {format_nll(m['nll_nats'], estimator, 3)} nats, "
                f"{'<= ' if estimator else ''}{m.get('bits_per_dim', float('nan')):.4f} bits/dim "
                f"on {m.get('n_images')} images"
            )
    if fields:
        print("config:")
        for key, f in fields.items():
            choices = f" (one of {', '.join(map(str, f['choices']))})" if f.get("choices") else ""
            print(f"  {key} = {f['default']!r}  {f['description']}{choices}".rstrip())


def _estimator(arch: str, config: dict[str, Any] | None, metrics: dict[str, Any]) -> str | None:
    """The bound estimator of a stored result (None: an exact NLL), for results recorded before zoo stored it too."""
    spec = get_registry().models.get(arch)
    if spec is None or not isinstance(config, dict):
        return stored_estimator(metrics)
    try:
        built = spec.cls.config_class(**config)
    except ValueError:
        built = None
    return stored_estimator(metrics, spec.cls, built)


def cmd_plugins(args) -> None:

    if args.json:
        print(json.dumps(zoo.plugins(), indent=2))
        return
    rows = []
    for p in zoo.plugins():
        status = "ok" if not p["errors"] else "ERROR: " + " | ".join(p["errors"])
        seconds = p["import_seconds"]
        slow = " (slow)" if seconds > SLOW_IMPORT_SECONDS else ""
        rows.append(
            [p["name"], p["distribution"] or "-", p["version"] or "-", p["source"], f"{seconds:.2f}{slow}", status]
        )
    print(_table(rows, ["plugin", "distribution", "version", "source", "import s", "status"]))


def cmd_create(args) -> None:

    model = zoo.create(args.arch, **parse_settings(args.set))
    with RunFolder(args.out).claim(overwrite=args.overwrite):
        zoo.save_pretrained(model, args.out)
    n = sum(p.numel() for p in model.parameters())
    _report(args, f"created {args.arch} ({n:,} parameters) in {args.out}", architecture=args.arch, parameters=n)


def cmd_train(args) -> None:

    out = train(
        args.arch,
        args.dataset,
        args.out,
        settings=parse_settings(args.set),
        epochs=args.epochs,
        resume=args.resume,
        dataset_options=(
            _data_options(args.dataset, args.data_option)  # a fine-tune's dataset is read from its base
            if args.dataset is not None
            else parse_settings(args.data_option, "--data-option", typed=False)
        ),
        overwrite=args.overwrite,
        # a fine-tune that names no dataset records the equivalent command that does (a recipe names its data)
        command=args.command_line if args.dataset is not None else None,
        final_eval=args.final_eval,
    )
    if out is not None and rank() == 0:  # under torchrun, rank 0 speaks
        metrics = read_config(out).get("metrics") or {}
        _report(args, f"saved the best model to {out}", metrics=metrics)


def cmd_reproduce(args) -> None:

    done = reproduce(
        args.name,
        out=args.out,
        minutes=args.minutes,
        resume=args.resume,
        settings=parse_settings(args.set),
        limit=args.limit,
    )
    if args.json:
        report = {"name": done.name, "out": str(done.out), "command": done.command}
        report.update(result=done.result.model_dump(), card_nll=done.card_nll, difference=done.difference)
        print(json.dumps(report, indent=2))
        return
    print(done.line())


def cmd_eval(args) -> None:

    model = zoo.load(args.model, device=args.device)  # checked (--device) before the verb runs
    dataset, options = _data_of(model, args)
    use_threads(args.threads, work=1 << 40)  # evaluation batches are large: every free core
    if args.limit is not None:  # --limit replaces a limit the run recorded
        options["limit"] = args.limit
    torch.manual_seed(args.seed)  # latent-variable bounds are Monte Carlo estimates: make them repeatable
    result = evaluate(model, dataset, split=args.split, progress=sys.stderr.isatty(), k=args.k, **options)
    if args.save:
        if not Path(args.model).is_dir():
            raise ArgumentError("--save needs a model folder, not a name")
        record_metrics(args.model, result)
    if args.json:  # "exact" where the NLL is exact: null read as "unknown" to anyone who met it
        print(json.dumps({**result.model_dump(), "estimator": result.estimator or "exact"}, indent=2))
        return
    upper = "<= " if result.bound else ""
    nll = format_nll(result.nll_nats, result.estimator, 3)
    rows = [[result.dataset, result.split, str(result.n_images), nll, f"{upper}{result.bits_per_dim:.4f}"]]
    print(_table(rows, ["dataset", "split", "images", "NLL (nats/image)", "bits/dim"]))
    if result.k is not None:
        print(f"importance-weighted bound with k={result.k} samples (an upper bound on the NLL)")
    for key, value in (result.extra or {}).items():
        print(f"{key}: {value:.4f}")


def _data_options(dataset: str, pairs: list[str] | None, recorded: dict[str, Any] | None = None) -> dict[str, Any]:
    """``--data-option`` pairs (over the ``recorded`` ones), read by the dataset's declared types."""
    return dataset_options(dataset, {**(recorded or {}), **parse_settings(pairs, "--data-option", typed=False)})


def _data_of(model, args) -> tuple[str, dict[str, Any]]:
    """``--dataset`` and ``--data-option``s, defaulting to the data the model records it was trained on.

    Recorded options replay as they were recorded, read by the same declared types, so a run's own record is
    never refused and never misread; all but ``limit`` (a folder from before zoo stopped recording a run's
    limit as the model's): a trained model is measured on the whole split unless ``--limit`` says otherwise."""
    if args.dataset is not None:
        return args.dataset, _data_options(args.dataset, args.data_option)
    info = getattr(model, "pretrained_info", {}) or {}
    if not info.get("dataset"):
        raise ArgumentError(f"{args.model} records no dataset: name one with --dataset")
    recorded = info.get("dataset_options") or {}
    if not isinstance(recorded, dict):
        raise ArgumentError(
            f"{args.model} records dataset_options that are not a JSON object: name them with --dataset"
        )
    recorded = {k: v for k, v in recorded.items() if k != "limit"}
    return info["dataset"], _data_options(info["dataset"], args.data_option, recorded)


def _report(args, text: str, **data: Any) -> None:
    """A verb's summary: the line, or with ``--json`` an object of the same facts (``data``, and ``path``
    or ``out`` where the verb wrote one) for scripts."""
    if not getattr(args, "json", False):
        print(text)
        return
    where = {k: str(getattr(args, k)) for k in ("out", "folder") if getattr(args, k, None) is not None}
    print(json.dumps({**where, **data}, indent=2, default=str))


def _generator(seed: int | None):

    return torch.Generator().manual_seed(seed) if seed is not None else None


def cmd_sample(args) -> None:

    _image_path(args.out)
    scale = _scale(args.scale)
    model = zoo.load(args.model, device=args.device)  # checked (--device) before the verb runs
    start = time.perf_counter()
    kwargs = {"method": args.method} if model.autoregressive else {}
    if args.method != "auto" and not model.autoregressive:
        raise ArgumentError(f"--method applies to autoregressive models; {model.architecture} is not one")
    if model.conditional:  # one class per row of the figure unless --label picks one
        k = model.config.num_classes
        kwargs["labels"] = torch.full((args.n,), args.label) if args.label is not None else torch.arange(args.n) % k
    elif args.label is not None:
        raise ArgumentError(f"{model.architecture} is not class-conditional: --label does not apply")
    use_threads(args.threads, step_work(model, min(args.batch_size or args.n, args.n)))
    generator = _generator(args.seed)
    progress = sys.stderr.isatty()  # a bar on a terminal; a redirected log gets no carriage-return updates
    images = sample_in_batches(model, args.n, args.batch_size, generator, args.temperature, progress=progress, **kwargs)
    seconds = time.perf_counter() - start
    path = sample_figure(
        images,
        model.config.levels,
        args.out,
        name=str(args.model),
        seed=args.seed,
        temperature=args.temperature,
        labels=kwargs.get("labels"),
        scale=scale,
    )
    _report(args, f"wrote {args.n} samples to {path} ({seconds:.2f} s)", n=args.n, seconds=seconds)


def _image_path(path: Path) -> Path:
    """``--out`` must name an image format Pillow writes; say so before any work is done."""
    if image_format(path) is None:
        raise ArgumentError(f"--out {path}: unknown image extension {path.suffix or '(none)'!r}; use .png or .jpg")
    return path


def cmd_complete(args) -> None:

    _image_path(args.out)
    scale = _scale(args.scale)
    model = zoo.load(args.model, device=args.device)  # checked (--device) before the verb runs
    if not callable(getattr(model, "complete", None)):  # autoregressive models, and any other with a complete method
        raise ArgumentError(f"{model.architecture} has no complete method: it cannot complete images")
    dataset, options = _data_of(model, args)
    use_threads(args.threads, step_work(model, args.n))
    data = load_dataset(dataset, split=args.split, **options)
    path = completion_figure(
        model,
        data,
        args.out,
        n=args.n,
        samples=args.samples,
        occlude=args.occlude,
        seed=args.seed,
        temperature=args.temperature,
        name=str(args.model),
        scale=scale,
    )
    rows = f"rows are occluded (hidden part tinted blue), {args.samples} completion(s), original"
    _report(args, f"wrote {path}: {rows}", images=args.n, samples=args.samples)


def _scale(scale: int | None) -> int | None:
    """``--scale``: how many screen pixels a figure gives each image pixel (None: the readable default)."""
    if scale is not None and not 1 <= scale <= 64:
        raise ArgumentError(f"--scale must be a whole number from 1 to 64, got {scale}")
    return scale


def cmd_card(args) -> None:
    from zoo.cards import write_model_card  # huggingface_hub's card module: only `zoo card` needs it

    path = write_model_card(
        args.folder,
        recipe=args.recipe,
        description=args.description,
        name=args.name,
        notes=args.notes,
        hardware=args.hardware,
        license=args.license,
    )
    _report(args, f"wrote {path}")


def cmd_push(args) -> None:

    url = zoo.push_to_hub(
        args.folder,
        args.repo,
        private=args.private,
        revision=args.revision,
        token=args.token,
        commit_message=args.commit_message,
        create_pr=args.create_pr,
        license=args.license,
    )
    if args.create_pr:
        _report(
            args, f"opened a pull request on {args.repo} with {args.folder}: {url}", url=str(url), repo_id=args.repo
        )
        return
    entry = _entry_of(args, url)
    if args.json:
        report = {"url": str(url), "repo_id": args.repo, "branch": args.revision, "commit": url.commit}
        print(json.dumps({**report, "private": args.private, "entry": entry.model_dump(exclude_unset=True)}, indent=2))
        return
    print(f"pushed {args.folder} to {args.repo}{f' (branch {args.revision})' if args.revision else ''}: {url}")
    if args.private:  # a public repo of that name was made private before the upload: say so
        print(f"{args.repo} is private (--private: set before the upload, whether the repo was new or public)")
    print("\nTo offer it under a short name, register this entry from your plugin (zoo_register_pretrained):\n")
    print(entry.python())


def _entry_of(args, url) -> PretrainedEntry:
    """The entry a plugin registers to offer a pushed model under a short name, from what was uploaded."""
    meta = url.config  # what was uploaded (staged), not the folder as it is now
    return PretrainedEntry(
        name=args.repo.split("/")[-1],
        architecture=meta["architecture"],
        dataset=meta.get("dataset") or "DATASET (not recorded in config.json)",
        **({"dataset_options": meta["dataset_options"]} if meta.get("dataset_options") else {}),
        repo_id=args.repo,
        revision=url.commit,
        sha256=url.sha256,
        config_sha256=url.config_sha256,
        **({"recipe": meta["command"]} if isinstance(meta.get("command"), str) else {}),
    )


def cmd_download(args) -> None:

    reg = get_registry()
    if args.name in reg.datasets:
        if args.revision is not None:
            raise ArgumentError(f"--revision applies to models; {args.name!r} is a dataset")
        folder = download(args.name, root=args.root, force=args.force)
        _report(args, f"{args.name}: files ready in {folder}", folder=str(folder))
        return
    if args.root is not None:
        raise ArgumentError(
            f"--root applies to datasets; {args.name!r} is not one (models go to the Hugging Face cache)"
        )

    if "/" not in args.name and args.name not in reg.pretrained and not Path(args.name).is_dir():
        raise unknown_name("dataset or pretrained model", args.name, [*reg.datasets, *reg.pretrained])
    folder = model_folder(args.name, revision=args.revision, force_download=args.force)
    read_config(folder)  # what a later load reads first: a repo that is no zoo model is reported now
    offline = "loads offline from there, e.g. with HF_HUB_OFFLINE=1"
    _report(args, f"{args.name}: model files ready in {folder} ({offline})", folder=str(folder))


def cmd_demo(args) -> None:

    name = best_bundled()
    if name is None:
        raise ArgumentError("no bundled pretrained model is installed (see `zoo list --pretrained`)")
    model = zoo.load(name)
    images = model.sample(args.n, generator=_generator(args.seed))
    path = sample_figure(images, model.config.levels, args.out, name=name, seed=args.seed)
    _report(args, f"{name}: wrote {args.n} samples to {path.resolve()}", name=name, n=args.n, path=str(path.resolve()))


# -- parser --------------------------------------------------------------------
class FORMATTER(argparse.RawDescriptionHelpFormatter):
    """Help that ends with each option's default (when it has one) and keeps the epilog's lines."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" not in text and not any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def _train_fields() -> str:
    """The TrainConfig fields, for ``zoo train --help`` (pydantic is imported only when help is built)."""

    lines = ["training fields (--set KEY=VALUE):"]
    for name, f in TrainConfig.model_fields.items():
        default = f.get_default(call_default_factory=True)
        choices = literal_choices(f.annotation)
        about = (f.description or "") + (f" (one of {', '.join(map(str, choices))})" if choices else "")
        lines.append(f"  {name}={default}: {about.strip()}".rstrip(": "))
    return "\n".join(lines)


def _shared_options() -> dict[str, argparse.ArgumentParser]:
    """The options several verbs take, each declared once, as argparse parent parsers (``parents=[...]``)."""
    shared = {name: argparse.ArgumentParser(add_help=False) for name in ("json", "data", "recorded", "device", "view")}
    shared["json"].add_argument("--json", action="store_true", help="print JSON")
    shared["data"].add_argument(
        "--data-option",
        action="append",
        metavar="KEY=VALUE",
        help="dataset option, e.g. dynamic=true for binarized-mnist (repeatable)",
    )
    shared["recorded"].add_argument(
        "--dataset", help="dataset name (default: the one the model records, with its options)"
    )
    shared["recorded"].add_argument("--split", default="test", choices=SPLITS, help="dataset split")
    shared["device"].add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (CUDA when available)")
    shared["device"].add_argument(
        "--threads", default="auto", help="CPU threads: N, or auto (1 for small work, else the free cores)"
    )
    shared["view"].add_argument(
        "--scale", type=int, help="screen pixels per image pixel (default: about 96 pixels an image)"
    )
    shared["view"].add_argument("--temperature", type=float, default=1.0, help="below 1 sharper, above 1 more random")
    return shared


#: one example per verb, shown by its --help; each names only what the core ships (tests/test_core_names.py)
EXAMPLES = {
    "list": "zoo list '*' --pretrained",
    "info": "zoo info independent-digits",
    "plugins": "zoo plugins --json",
    "create": "zoo create independent --set levels=2 --set height=8 --set width=8 --out runs/fresh",
    "train": "zoo train independent --dataset digits --epochs 5 --out runs/digits   "
    "# or fine-tune a pretrained model: zoo train independent-digits --out runs/ft",
    "reproduce": "zoo reproduce independent-digits --minutes 1 --out runs/again   # then compare with the card",
    "eval": "zoo eval independent-digits --split test --json",
    "sample": "zoo sample independent-digits --n 16 --seed 0 --out samples.png",
    "complete": "zoo complete independent-digits --occlude bottom-half --out completions.png",
    "card": "zoo card runs/digits --notes 'trained for 5 epochs on a laptop'",
    "push": "zoo push runs/digits --repo your-name/independent-digits --revision v1",
    "download": "zoo download mnist",
    "demo": "zoo demo --out outputs/demo.png",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zoo", description="A plugin-based model zoo for generative image models.")
    p.add_argument("--version", action="version", version=f"zoo {__import__('zoo').__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _shared_options()

    def verb(name: str, help: str, *parents: str, **kwargs) -> argparse.ArgumentParser:
        description = f"{help}\n\nexample:\n  {EXAMPLES[name]}"  # what to type first, as every verb's --help shows
        return sub.add_parser(
            name,
            formatter_class=FORMATTER,
            help=help,
            description=description,
            parents=[shared[k] for k in parents],
            **kwargs,
        )

    s = verb("list", "list architectures (or pretrained models with --pretrained)", "json")
    s.add_argument("pattern", nargs="?", default="*", help="shell wildcard, e.g. 'pixel*'")
    s.add_argument("--pretrained", action="store_true", help="list pretrained models and where they live")
    s.add_argument("--datasets", action="store_true", help="list datasets, their levels, shapes and options")
    s.set_defaults(func=cmd_list)

    s = verb("info", "show an architecture, a pretrained model, a dataset, a model folder or a Hub repo", "json")
    s.add_argument(
        "name", help="architecture, pretrained model, dataset, model folder, or Hub repo ORG/NAME (downloaded)"
    )
    s.set_defaults(func=cmd_info)

    s = verb("plugins", "list plugins, their versions and load errors", "json")
    s.set_defaults(func=cmd_plugins)

    s = verb("create", "save a freshly initialised model to a folder", "json")
    s.add_argument("arch", help="architecture (see `zoo list`)")
    s.add_argument("--out", required=True, type=Path, help="model folder to write")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="config field (repeatable)")
    s.add_argument("--overwrite", action="store_true", help="replace the model already in OUT (else refused)")
    s.set_defaults(func=cmd_create)

    s = verb(
        "train",
        "train an architecture on a dataset (resumable; runs under torchrun)",
        "data",
        "json",
        epilog=_train_fields(),
    )
    s.add_argument("arch", help="architecture to train from scratch, or a pretrained name or model folder to fine-tune")
    s.add_argument(
        "--dataset",
        help="dataset name (see `zoo info ARCH`; digits ships with zoo); a fine-tune defaults to its base's, "
        "with the base's data options under the --data-option ones",
    )
    s.add_argument(
        "--epochs", type=int, help="passes over the training split (--set epochs=N; default 10, none with a budget)"
    )
    s.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="model config field (`zoo info ARCH`) or training field (below); repeatable",
    )
    s.add_argument("--out", required=True, type=Path, help="run folder: checkpoints, history, the best model")
    s.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints")
    s.add_argument("--overwrite", action="store_true", help="replace the model or run already in OUT (else refused)")
    s.add_argument(
        "--final-eval",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="end with a complete model folder: measure the test split once and write the card README.md",
    )
    s.set_defaults(func=cmd_train)

    s = verb(
        "reproduce",
        "run a pretrained model's recipe, evaluate the result on the test split and compare it with the card",
        "json",
    )
    s.add_argument("name", help="pretrained model name (see `zoo list --pretrained`) or model folder with a recipe")
    s.add_argument("--out", type=Path, help="run folder (default: the recipe's own --out)")
    s.add_argument(
        "--minutes", type=float, help="training budget in minutes, replacing the recipe's (--set max_minutes)"
    )
    s.add_argument("--resume", action="store_true", help="continue the run in OUT from its checkpoints")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one --set of the recipe (repeatable)")
    s.add_argument(
        "--limit", type=int, help="evaluate the first N test images only (compared with the card's test[:N])"
    )
    s.set_defaults(func=cmd_reproduce)

    s = verb(
        "eval", "NLL (nats/image) and bits/dim of a model on a dataset split", "recorded", "data", "json", "device"
    )
    s.add_argument("model", help="pretrained name, Hub repo or model folder")
    s.add_argument("--limit", type=int, help="evaluate only the first N images of the split")
    s.add_argument("--save", action="store_true", help="record the metrics in the folder's config.json")
    s.add_argument("--seed", type=int, default=0, help="seed of Monte Carlo estimates (VAE bounds)")
    s.add_argument(
        "--k", type=int, help="samples of a latent-variable model's importance-weighted bound (default: its own)"
    )
    s.set_defaults(func=cmd_eval)

    s = verb("sample", "write a PNG grid of samples", "view", "device", "json")
    s.add_argument("model", help="pretrained name, Hub repo or model folder")
    s.add_argument("--n", type=int, default=16, help="number of samples")
    s.add_argument("--batch-size", type=int, help="draw at most this many at a time (default: all at once)")
    s.add_argument("--out", type=Path, default=Path(SAMPLES_FILE), help="image file (.png, .jpg, ...)")
    s.add_argument("--seed", type=int, default=0, help="seed of the sampler's random draws")
    s.add_argument("--method", choices=["auto", "naive", "fast"], default="auto", help="autoregressive sampler")
    s.add_argument("--label", type=int, help="class of every sample (class-conditional models; default: a row a class)")
    s.set_defaults(func=cmd_sample)

    s = verb(
        "complete",
        "complete occluded test images: rows occluded, completions, original",
        "recorded",
        "data",
        "view",
        "device",
        "json",
    )
    s.add_argument("model", help="pretrained name, Hub repo or model folder (autoregressive)")
    s.add_argument("--occlude", default="bottom-half", choices=["bottom-half", "right-half"], help="the hidden part")
    s.add_argument("--n", type=int, default=8, help="images (columns)")
    s.add_argument("--samples", type=int, default=3, help="completions per image (rows)")
    s.add_argument("--out", type=Path, default=Path(COMPLETIONS_FILE), help="image file (.png, .jpg, ...)")
    s.add_argument("--seed", type=int, default=0, help="seed of the image choice and of the completions")
    s.set_defaults(func=cmd_complete)

    s = verb("card", "write the model card README.md (and its figures) of a model folder", "json")
    s.add_argument("folder", type=Path, help="model folder")
    s.add_argument("--recipe", help="the exact command that reproduces the weights")
    s.add_argument("--description", help="one sentence on what the model is (default: the class docstring)")
    s.add_argument("--name", help="the pretrained name users load")
    s.add_argument("--notes", help="a markdown paragraph under the results (targets met or missed, caveats)")
    s.add_argument("--hardware", help="what the model trained on, when train_result.json does not record it")
    s.add_argument("--license", help="Hub licence id of the weights (default: the training data's, e.g. cc-by-sa-3.0)")
    s.set_defaults(func=cmd_card)

    s = verb("push", "publish a model folder to the Hugging Face Hub in one commit", "json")
    s.add_argument("folder", type=Path, help="model folder")
    s.add_argument("--repo", required=True, metavar="ORG/NAME", help="Hub repo (created if missing)")
    s.add_argument(
        "--private", action="store_true", default=None, help="create the repo private (default: the Hub's default)"
    )
    s.add_argument("--revision", help="branch to commit to (created if missing)")
    s.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing to the branch")
    s.add_argument("--commit-message", help="the commit's message (default: Upload ARCH model with zoo)")
    s.add_argument("--token", help="Hub token with write access (default: HF_TOKEN or the `hf auth login` cache)")
    s.add_argument("--license", help="Hub licence id written into a card zoo makes (default: the training data's)")
    s.set_defaults(func=cmd_push)

    s = verb(
        "download",
        "fetch a dataset into $ZOO_DATA, or a pretrained model or Hub repo into the Hub cache (needs internet)",
        "json",
    )
    s.add_argument("name", help="dataset (mnist, binarized-mnist, cifar10), pretrained model name or Hub repo ORG/NAME")
    s.add_argument("--root", type=Path, help="data folder (default $ZOO_DATA or ~/.cache/zoo/data)")
    s.add_argument("--revision", help="branch, tag or commit of a Hub model (default: the pinned one, or main)")
    s.add_argument("--force", action="store_true", help="download again even if the files are there")
    s.set_defaults(func=cmd_download)

    s = verb("demo", "sample a grid from the best bundled pretrained model (zoo.api.best_bundled)", "json")
    s.add_argument("--out", type=Path, default=Path("outputs/demo.png"), help="image file")
    s.add_argument("--n", type=int, default=16, help="number of samples")
    s.add_argument("--seed", type=int, default=0, help="seed of the sampler")
    s.set_defaults(func=cmd_demo)
    return p


def print(*values: Any, **options: Any) -> None:  # noqa: A001 - every print of this module goes through it
    """``print`` with control characters shown as ``?`` (:func:`zoo.text.clean`): what the command line
    writes includes downloaded strings (config fields, card text, plugin names), and none may drive the
    terminal."""
    builtins.print(*(clean(value) for value in values), **options)


#: the command line's counts and sizes, checked before any verb runs: (argument, minimum, maximum)
COUNTS = {
    "n": ("--n", 1, MAX_SAMPLES),
    "batch_size": ("--batch-size", 1, None),
    "samples": ("--samples", 1, 1000),
    "limit": ("--limit", 1, None),
    "epochs": ("--epochs", 1, None),
}


def check_arguments(args: argparse.Namespace) -> None:
    """Every count, size, seed and device of a parsed command line, once, before the verb runs."""
    for key, (flag, low, high) in COUNTS.items():
        if getattr(args, key, None) is not None:
            arguments.count(getattr(args, key), flag, low, high)
    if getattr(args, "seed", None) is not None:
        arguments.seed(args.seed, "--seed")
    if getattr(args, "device", None) is not None:
        arguments.device(args.device, "--device")
    if getattr(args, "threads", None) is not None:
        pick_threads(args.threads, 0, "--threads")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["zoo", *(sys.argv[1:] if argv is None else argv)])  # a run's provenance
    try:
        check_command_length(args.command_line)
        check_arguments(args)
        args.func(args)
    except ZooError as exc:  # zoo's own errors are one line; anything else is a bug and shows its traceback
        print(f"zoo {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code  # 2: a usage error (what was typed), 1: a runtime error (files, Hub, data)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
