"""Resolve a checkpoint reference (local directory, `hf-hub:owner/name[@rev]` or `owner/name`) to local files.

Only file downloads are used (`hf_hub_download`), never Hub API endpoints, so HF_HUB_OFFLINE=1 with a warm
cache works and the load path makes no metadata calls.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import WeightsError

HF_PREFIX = "hf-hub:"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+(@[\w.\-/]+)?$")


def is_repo_id(ref: str) -> bool:
    return ref.startswith(HF_PREFIX) or (_REPO_ID.match(ref) is not None and not Path(ref).exists())


def split_repo_ref(ref: str) -> tuple[str, str | None]:
    """'hf-hub:owner/name@rev' -> ('owner/name', 'rev')."""
    ref = ref[len(HF_PREFIX):] if ref.startswith(HF_PREFIX) else ref
    repo_id, _, revision = ref.partition("@")
    return repo_id, (revision or None)


def fetch_file(ref: str, filename: str) -> Path:
    """One file of a checkpoint, from a local directory or the Hub (cache first when offline)."""
    if not is_repo_id(ref):
        path = Path(ref).expanduser() / filename
        if not path.is_file():
            raise WeightsError(
                f"{path} not found. '{ref}' should be a checkpoint directory holding config.json and "
                "model.safetensors (made by `pvse train`), or a Hugging Face repo id such as 'user/pvse-model'."
            )
        return path
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo_id, revision = split_repo_ref(ref)
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision))
    except LocalEntryNotFoundError as exc:
        from huggingface_hub import constants
        offline = constants.HF_HUB_OFFLINE  # HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as huggingface_hub read it
        how = ("HF_HUB_OFFLINE is set, so only the local cache was searched; run once online or "
               "`hf download " + repo_id + "`") if offline else \
              "the Hub could not be reached and the file is not in the local cache; check the network or pass a local directory"
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not offline and str(cause).strip():
            how += f" (last error: {str(cause).strip().splitlines()[0]})"
        raise WeightsError(f"{filename} of Hub repo '{repo_id}' is not available: {how}.") from exc
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise WeightsError(f"Hub repo '{repo_id}'" + (f" at revision '{revision}'" if revision else "") +
                           " does not exist or is private (log in with `hf auth login`).") from exc
    except EntryNotFoundError as exc:
        raise WeightsError(f"Hub repo '{repo_id}' has no {filename}: it is not a pvse-gif checkpoint.") from exc
    except (HfHubHTTPError, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"could not download {filename} from Hub repo '{repo_id}': {detail}") from exc
