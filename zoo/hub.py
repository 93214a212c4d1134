"""Download pretrained models from the Hugging Face Hub and publish them, through huggingface_hub.

Downloads use huggingface_hub's cache, revision pinning and offline mode (``HF_HUB_OFFLINE=1``),
and check ``model.safetensors`` against the sha256 the pretrained index records before anything
is loaded. Publishing is one commit: create the repo if needed, then ``upload_folder``. The token
comes from huggingface_hub's standard places (``HF_TOKEN``, the ``hf auth login`` cache) and is
never printed or logged. ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` are honoured when a call is made,
not only when huggingface_hub was imported.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from .errors import HubError, WeightsError
from .registry import PretrainedEntry
from .weights import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, read_config

__all__ = ["resolve_entry", "download_repo", "push_to_hub", "file_sha256", "UPLOADED_FILES"]

REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)
OPTIONAL_FILES = (CARD_FILE,)
UPLOADED_FILES = [CONFIG_FILE, WEIGHTS_FILE, CARD_FILE, "samples.png"]
OFFLINE_HINT = "use a bundled offline model instead (see `zoo list --pretrained`)"


def _endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "on", "yes", "true"}
    return flag or constants.is_offline_mode()


def file_sha256(path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- download ------------------------------------------------------------------
def resolve_entry(entry: PretrainedEntry, revision: str | None = None) -> Path:
    """The local folder of a pretrained entry: its bundled folder, or a verified Hub download."""
    if entry.bundled and (revision is None or not entry.repo_id):
        if revision is not None:
            raise HubError(f"pretrained model {entry.name!r} is bundled with zoo; revision= applies only to Hub models")
        try:
            folder = entry.folder
        except (ValueError, ModuleNotFoundError) as exc:
            raise WeightsError(f"bundled model {entry.name!r}: {exc}") from None
        if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
            raise WeightsError(
                f"bundled model {entry.name!r}: {folder} has no {CONFIG_FILE} and {WEIGHTS_FILE} "
                f"(reinstall the package {entry.package!r} that ships it)"
            )
        if entry.sha256 and file_sha256(folder / WEIGHTS_FILE) != entry.sha256:
            raise WeightsError(
                f"bundled model {entry.name!r}: {folder / WEIGHTS_FILE} does not match the sha256 in the "
                f"pretrained index (reinstall the package {entry.package!r} that ships it)"
            )
        return folder
    if not entry.published:
        how = f"; to train them: {entry.recipe}" if entry.recipe else ""
        raise HubError(f"weights for {entry.name} are not published yet (Hub repo {entry.repo_id}){how}")
    # The index's hash describes the index's revision; another pinned revision has other weights.
    check = entry.sha256 if revision is None or revision == entry.revision else None
    return _download(entry.repo_id, revision or entry.revision, check, name=entry.name)


def download_repo(repo_id: str, revision: str | None = None, sha256: str | None = None) -> Path:
    """Download a zoo-format Hub repo (``org/name``) into the cache; returns the local snapshot folder."""
    return _download(repo_id, revision or "main", sha256)


def _download(repo_id: str, revision: str, sha256: str | None, name: str | None = None) -> Path:
    from huggingface_hub import hf_hub_download

    what = f"Hub repo {repo_id!r} (revision {revision!r})"
    if name:
        what = f"pretrained model {name!r} (Hub repo {repo_id!r}, revision {revision!r})"
    _check_repo_id(repo_id, what)
    offline = _offline()
    if not offline:
        _fail_fast_if_unreachable(repo_id, revision, what)
    folder = None
    for filename in REQUIRED_FILES + OPTIONAL_FILES:
        try:
            # After the first file, pin the commit it resolved to, so all files come from one snapshot.
            path = hf_hub_download(
                repo_id,
                filename,
                revision=folder.name if folder is not None else revision,
                endpoint=_endpoint(),
                local_files_only=offline,
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes one clear HubError below
            if filename in OPTIONAL_FILES and _is_missing_entry(exc):
                continue
            raise _download_error(exc, what, repo_id, revision, filename, offline) from None
        folder = Path(path).parent
    if sha256 is not None:
        actual = file_sha256(folder / WEIGHTS_FILE)
        if actual != sha256.lower():
            raise HubError(
                f"{what}: {WEIGHTS_FILE} has sha256 {actual}, the pretrained index expects {sha256}; "
                f"refusing to load a corrupted or altered download (delete {folder} from the cache and retry)"
            )
    return folder


def _check_repo_id(repo_id: str, what: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubError(f"{what}: not a valid Hub repo id ({_first_line(exc)})") from None


def _fail_fast_if_unreachable(repo_id: str, revision: str, what: str) -> None:
    """With nothing cached, one probe first: huggingface_hub would retry a connection that cannot be
    made (refused, unresolvable, or not made within the ETag timeout) five times over about 20 s,
    logging each retry, before giving up. Any answer at all is left to huggingface_hub."""
    import httpx2
    from huggingface_hub import constants, get_session, hf_hub_url, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, CONFIG_FILE, revision=revision), str):
        return
    url = hf_hub_url(repo_id, CONFIG_FILE, revision=revision, endpoint=_endpoint())
    try:
        get_session().head(url, timeout=constants.HF_HUB_ETAG_TIMEOUT, follow_redirects=False)
    except (httpx2.ConnectError, httpx2.ConnectTimeout):
        raise HubError(
            f"{what}: cannot reach the Hub at {_endpoint()} and there is no cached copy; "
            f"{OFFLINE_HINT}, or retry with network access"
        ) from None
    except httpx2.HTTPError:
        pass  # a connection was made: huggingface_hub's own retries and errors decide


def _is_missing_entry(exc: Exception) -> bool:
    from huggingface_hub.errors import EntryNotFoundError

    return isinstance(exc, EntryNotFoundError)


def _download_error(exc, what, repo_id, revision, filename, offline) -> HubError:
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        HFValidationError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, HFValidationError):
        return HubError(f"{what}: not a valid Hub repo id or revision ({exc})")
    if isinstance(exc, RepositoryNotFoundError):
        return HubError(
            f"{what}: repository not found on {_endpoint()} (check the name; a private repo needs "
            f"HF_TOKEN or `hf auth login`)"
        )
    if isinstance(exc, RevisionNotFoundError):
        return HubError(f"{what}: revision {revision!r} not found (use a branch, tag or commit of the repo)")
    if isinstance(exc, RemoteEntryNotFoundError):
        return HubError(
            f"{what}: file {filename!r} not found in the repo (a zoo model repo has {CONFIG_FILE} and {WEIGHTS_FILE})"
        )
    if isinstance(exc, LocalEntryNotFoundError):
        if offline:
            return HubError(
                f"{what}: HF_HUB_OFFLINE=1 is set and {filename} is not in the Hugging Face cache "
                f"({constants.HF_HUB_CACHE}); unset HF_HUB_OFFLINE and load it once with network access, "
                f"or {OFFLINE_HINT}"
            )
        cause = exc.__cause__
        if cause is None or isinstance(cause, (httpx2.TransportError, OSError)):
            reason = "cannot reach the Hub at " + _endpoint()
        else:
            reason = f"the Hub answered with an error ({_first_line(cause)})"
        return HubError(f"{what}: {reason} and there is no cached copy; {OFFLINE_HINT}, or retry with network access")
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"{what}: the Hub answered with an error ({_first_line(exc)})")
    if isinstance(exc, (httpx2.TransportError, OSError)):
        return HubError(f"{what}: cannot reach the Hub at {_endpoint()} ({_first_line(exc)}); {OFFLINE_HINT}")
    return HubError(f"{what}: download of {filename} failed ({type(exc).__name__}: {_first_line(exc)})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- publish -------------------------------------------------------------------
def push_to_hub(
    model_or_folder,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Publish a model (or a saved model folder) to ``repo_id`` in one commit; returns the commit URL.

    A model is first saved to a temporary folder. A folder without a model card gets one
    (see :func:`zoo.cards.write_model_card`). ``revision`` names a branch, created if missing.
    """
    from .interfaces import Model
    from .weights import save_pretrained

    _check_repo_id(repo_id, f"push to Hub repo {repo_id!r}")
    with tempfile.TemporaryDirectory(prefix="zoo-push-") as tmp:
        if isinstance(model_or_folder, Model):
            folder = save_pretrained(model_or_folder, Path(tmp) / repo_id.split("/")[-1])
        else:
            folder = Path(model_or_folder)
            read_config(folder)
            if not (folder / WEIGHTS_FILE).is_file():
                raise WeightsError(f"{folder / WEIGHTS_FILE}: file not found; nothing to push")
        if not (folder / CARD_FILE).is_file():
            from .cards import write_model_card

            write_model_card(folder, name=repo_id)
        return _upload(folder, repo_id, private, revision, token, commit_message)


def _upload(folder: Path, repo_id, private, revision, token, commit_message) -> str:
    from huggingface_hub import HfApi

    meta = read_config(folder)
    api = HfApi(endpoint=_endpoint(), token=token)
    message = commit_message or f"Upload {meta['architecture']} model with zoo"
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            revision=revision,
            commit_message=message,
            allow_patterns=UPLOADED_FILES,
            repo_type="model",
        )
    except Exception as exc:  # noqa: BLE001 - one clear HubError, never the token
        raise _push_error(exc, repo_id) from None
    return info.commit_url


def _push_error(exc, repo_id) -> HubError:
    import httpx2
    from huggingface_hub.errors import HFValidationError, HfHubHTTPError, LocalTokenNotFoundError

    where = f"push to Hub repo {repo_id!r} at {_endpoint()}"
    if isinstance(exc, HFValidationError):
        return HubError(f"{where}: invalid repo id or revision ({_first_line(exc)})")
    if isinstance(exc, LocalTokenNotFoundError):
        return HubError(f"{where}: no Hugging Face token found; set HF_TOKEN or run `hf auth login`")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            return HubError(
                f"{where}: not authorised (HTTP {status}); set HF_TOKEN or run `hf auth login` "
                f"with a token that can write to it"
            )
        return HubError(f"{where}: the Hub answered with an error ({_first_line(exc)})")
    if isinstance(exc, (httpx2.TransportError, OSError)):
        return HubError(f"{where}: cannot reach the Hub ({_first_line(exc)})")
    return HubError(f"{where}: failed ({type(exc).__name__}: {_first_line(exc)})")
