"""Publishing to the Hugging Face Hub: a model or a saved model folder, in one commit.

What is uploaded is staged in a temporary folder (the source folder is never written to), given a card
when it has none, checked (a card written for other weights is refused), hashed, and committed with
``upload_folder`` within the bounds of :mod:`zoo.transfer`. The token comes from huggingface_hub's
standard places (``HF_TOKEN``, the ``hf auth login`` cache) and is never printed or logged.
:mod:`zoo.hub` re-exports :func:`push_to_hub`.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import httpx2  # huggingface_hub's HTTP client; this module is imported only when the Hub is used

from ._version import __version__
from .arguments import revision as check_revision
from .errors import HubError, WeightsError
from .folders import ModelFolder
from .interfaces import Model
from .transfer import bounded, check_repo_id, download_limits, endpoint, first_line, limit_in_chain, upload_cap
from .weights import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, file_sha256, read_config, save_pretrained

__all__ = ["push_to_hub", "CommitURL", "UPLOADED_FILES"]

UPLOADED_FILES = list(ModelFolder.PUBLISHED)  # what zoo manages in a repo: uploaded, and deleted when gone


def push_to_hub(
    model_or_folder,
    repo_id: str,
    private: bool | None = None,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
    license: str | None = None,
) -> str:
    """Publish a model (or a saved model folder) to ``repo_id`` in one commit; returns the commit URL
    (the pull request's URL with ``create_pr=True``).

    What is uploaded is staged in a temporary folder first (a model is saved there; a folder's files
    are copied there), so a folder without a model card gets one (see
    :func:`zoo.cards.write_model_card`) in the upload only: the source folder is never written to,
    whether the upload succeeds or fails. A card the folder has is pointed at ``repo_id`` in the
    upload (its usage loads the repo). ``revision`` names a branch, created if missing. ``private=None``
    keeps an existing repo's visibility and creates a new one as the Hub's default (public) does.
    The files zoo manages (:data:`UPLOADED_FILES`) that the folder no longer has are deleted from the
    repo in the same commit, so a re-push never leaves an old figure beside new weights.
    """

    check_repo_id(repo_id, f"push to Hub repo {repo_id!r}")
    if revision is not None:
        check_revision(revision, f"push to Hub repo {repo_id!r}: revision")
    if create_pr and revision not in (None, "main"):
        raise HubError(f"push to Hub repo {repo_id!r}: a pull request is opened against main; drop the revision")
    with tempfile.TemporaryDirectory(prefix="zoo-push-") as tmp:
        folder = Path(tmp) / repo_id.split("/")[-1]
        if isinstance(model_or_folder, Model):
            save_pretrained(model_or_folder, folder)
        else:
            source = Path(model_or_folder)
            read_config(source)
            if not (source / WEIGHTS_FILE).is_file():
                raise WeightsError(f"{source / WEIGHTS_FILE}: file not found; nothing to push")
            folder.mkdir()
            for name in UPLOADED_FILES:
                _stage_file(source / name, folder / name)
        from .cards import retarget_card, write_model_card  # huggingface_hub's card module: loaded only to push

        pushed_to = None if create_pr else revision  # a pull request's ref is the Hub's to name
        if not (folder / CARD_FILE).is_file():
            write_model_card(folder, name=repo_id, license=license)
        retarget_card(folder, repo_id, license=license, revision=pushed_to)
        _check_card_describes(folder)
        # hashed now, from the staged copy: the source folder may change while the upload runs
        staged = read_config(folder)
        sha256, config_sha256 = file_sha256(folder / WEIGHTS_FILE), file_sha256(folder / CONFIG_FILE)
        url = _upload(folder, repo_id, private, revision, token, commit_message, create_pr)
        return CommitURL(url, staged, sha256, config_sha256)


def _stage_file(path: Path, target: Path) -> None:
    """Copy one file of the folder being pushed into the staging folder, if the folder has it.

    Only a regular file that lives in the folder alone is published: a symlink (``curves.png`` pointing
    at ``~/.cache/huggingface/token``) or a hard link (a second name of a file elsewhere) would upload
    a file from outside the folder, so each is refused in one line naming it. The file is opened without
    following links and checked through that open descriptor, so it cannot be swapped between the check
    and the copy.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return
    except OSError as exc:
        if path.is_symlink():
            raise HubError(
                f"{path}: is a symlink ({os.readlink(path)}); zoo push publishes only the folder's own files "
                "(copy the file into the folder: cp --remove-destination)"
            ) from None
        raise HubError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as src:
        info = os.fstat(src.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise HubError(f"{path}: not a regular file; zoo push publishes only regular files")
        if info.st_nlink > 1:
            raise HubError(
                f"{path}: is a hard link ({info.st_nlink} names for one file); zoo push publishes only files "
                "that belong to the folder alone (copy it: cp FILE FILE.tmp && mv FILE.tmp FILE)"
            )
        cap = upload_cap(path.name)
        if cap is not None and info.st_size > cap:
            raise HubError(
                f"{path}: {info.st_size:,} bytes, more than the {cap:,} a zoo {path.name} may have; nothing was "
                "uploaded (the Hub copy would be refused on download too)"
            )
        with open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))


class CommitURL(str):
    """The commit URL ``push_to_hub`` returns, carrying what was uploaded: the staged ``config`` (the
    parsed config.json) and the sha256 of the uploaded ``model.safetensors`` and ``config.json``, from
    which a :class:`~zoo.PretrainedEntry` for the commit is written (``zoo push`` prints one)."""

    config: dict
    sha256: str
    config_sha256: str

    def __new__(cls, url: str, config: dict, sha256: str, config_sha256: str):
        self = super().__new__(cls, url)
        self.config, self.sha256, self.config_sha256 = config, sha256, config_sha256
        return self

    @property
    def commit(self) -> str:
        return self.rstrip("/").split("/")[-1]


def _check_card_describes(folder: Path) -> None:
    """Refuse a card written for other weights (it would publish the old card's numbers beside new weights)."""
    from .cards import (
        read_card,  # huggingface_hub's card module: loaded only when pushing
    )

    recorded = read_card(folder).data.to_dict().get("weights_sha256")
    if recorded and recorded != file_sha256(folder / WEIGHTS_FILE):
        raise HubError(
            f"{folder / CARD_FILE} describes other weights (its weights_sha256 is {recorded[:12]}..., "
            f"{WEIGHTS_FILE} is {file_sha256(folder / WEIGHTS_FILE)[:12]}...); write it again with `zoo card`"
        )


def _upload(folder: Path, repo_id, private, revision, token, commit_message, create_pr=False) -> str:
    """One commit of the staged folder, within a deadline: ``ZOO_HUB_TIMEOUT`` seconds plus the time the
    staged bytes need at ``ZOO_HUB_MIN_RATE`` (the same hooks as downloads cap every request's waits)."""
    from huggingface_hub import HfApi

    meta = read_config(folder)
    api = HfApi(endpoint=endpoint(), token=token, library_name="zoo", library_version=__version__)
    message = commit_message or f"Upload {meta['architecture']} model with zoo"
    staged = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    with bounded(download_limits(), upload_bytes=staged) as budget:
        return _commit_folder(api, folder, repo_id, private, revision, message, budget, create_pr)


def _commit_folder(api, folder: Path, repo_id, private, revision, message, budget, create_pr: bool = False) -> str:
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if private:  # the repo may have existed, public: create_repo leaves it so, and would say nothing
            _make_private(api, repo_id)
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            revision=revision,
            commit_message=message,
            allow_patterns=UPLOADED_FILES,
            delete_patterns=UPLOADED_FILES,  # only what zoo manages; a file the owner added stays
            create_pr=create_pr,
            repo_type="model",
        )
    except HubError:
        raise
    except Exception as exc:  # noqa: BLE001 - one clear HubError, never the token
        limit = limit_in_chain(exc)
        if limit is None and isinstance(exc, httpx2.TimeoutException):
            limit = budget.deadline_passed(budget.clock())  # the last wait, capped to the deadline, ran out
        if limit is not None:
            raise HubError(f"push to Hub repo {repo_id!r}: {limit}") from None
        raise _push_error(exc, repo_id) from None
    return info.pr_url if create_pr and info.pr_url else info.commit_url


def _make_private(api, repo_id: str) -> None:
    """Set an existing repo private before anything is uploaded, or refuse the push in one line."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.update_repo_settings(repo_id, private=True, repo_type="model")
    except HfHubHTTPError as exc:
        raise HubError(
            f"push to Hub repo {repo_id!r} at {endpoint()}: --private was asked, but the repo exists and could not "
            f"be made private ({first_line(exc)}); nothing was uploaded: change its visibility on the Hub, or "
            "push without --private"
        ) from None


def _push_error(exc, repo_id) -> HubError:
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        LocalTokenNotFoundError,
    )

    where = f"push to Hub repo {repo_id!r} at {endpoint()}"
    if isinstance(exc, HFValidationError):
        return HubError(f"{where}: invalid repo id or revision ({first_line(exc)})")
    if isinstance(exc, LocalTokenNotFoundError):
        return HubError(f"{where}: no Hugging Face token found; set HF_TOKEN or run `hf auth login`")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            return HubError(
                f"{where}: not authorised (HTTP {status}); set HF_TOKEN or run `hf auth login` "
                f"with a token that can write to it"
            )
        if status == 404:  # the server's own line names a URL of its API, not what to do
            hint = f" (a repo id is ORG/NAME, e.g. your-name/{repo_id})" if "/" not in repo_id else ""
            return HubError(
                f"{where}: the Hub has no repo {repo_id!r} that this token can write to (HTTP 404){hint}; "
                "check the name and the token's namespace"
            )
        return HubError(f"{where}: the Hub answered with an error ({first_line(exc)})")
    if isinstance(exc, (httpx2.TransportError, OSError)):
        return HubError(f"{where}: cannot reach the Hub ({first_line(exc)})")
    return HubError(f"{where}: failed ({type(exc).__name__}: {first_line(exc)})")
