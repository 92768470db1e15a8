"""The default model and gallery: Hub repos pinned by revision, or a source checkout's own copies.

Each default is a `HubAsset`: the Hub repo holding it, the revision it is pinned to, the files it is made of
(glob patterns relative to the asset's folder: the one file layout that the downloads, `pvse push` and the
Space push share) and the folder of a source checkout that holds the same files. `asset_dir` says where an
asset is on this machine:

1. a source checkout's own copy (`checkout_dir`, the only place pvse reads a path relative to the repository);
2. else the Hub repo at the pinned revision, downloaded once as plain files into huggingface_hub's assets
   cache (`$HF_HOME/assets/pvse-gif/...`); later calls, and HF_HUB_OFFLINE=1, use that copy without a
   network call. Offline without it is a one-line error saying what to do.

$PVSE_WEIGHTS / $PVSE_INDEX override both.
"""
from __future__ import annotations

import os
import site
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from .errors import GalleryIndexError, PVSEError, WeightsError
from .index.meta import META_FILE

LIBRARY_NAME = "pvse-gif"
WEIGHTS_ENV, INDEX_ENV = "PVSE_WEIGHTS", "PVSE_INDEX"  # the environment variables that override the defaults
_COMPLETE = ".cache/pvse-gif-complete"  # written into a download once every file of the asset is there


@dataclass(frozen=True)
class HubAsset:
    """A default asset: where it lives on the Hub, which files make it, where a checkout keeps them."""

    name: str  # what it is, in messages
    repo_id: str
    repo_type: str  # "model" or "dataset"
    revision: str  # the pinned revision (a tag made when the asset is published, or a commit hash)
    patterns: tuple[str, ...]  # the asset's files, relative to its folder (huggingface_hub allow_patterns)
    marker: str  # a file every complete copy has
    entry: str  # the path inside the asset's folder that callers use ("" = the folder itself)
    checkout: str  # the folder of a source checkout holding the same files
    override: str  # how to use a local copy instead, in words
    error: type[PVSEError] = PVSEError


DEFAULT_MODEL = HubAsset(
    name="the default model", repo_id="pvse-gif/pvse-noto-emoji", repo_type="model", revision="v1",
    patterns=("*.json", "*.safetensors"),  # config.json, model.safetensors and the companions it names
    marker="model.safetensors", entry="", checkout="weights/default",
    override=f"set {WEIGHTS_ENV} (or --weights) to a checkpoint directory", error=WeightsError)
GALLERY_FOLDER, GALLERY_INDEX = "noto-emoji", "noto-emoji.index"  # the GIFs with their manifest, and their index
DEFAULT_GALLERY = HubAsset(
    name="the default gallery", repo_id="pvse-gif/noto-emoji-gallery", repo_type="dataset", revision="v1",
    patterns=(f"{GALLERY_FOLDER}/*", f"{GALLERY_INDEX}/*"),
    marker=f"{GALLERY_INDEX}/{META_FILE}", entry=GALLERY_INDEX, checkout="gallery",
    override=f"set {INDEX_ENV} (or --index) to an index directory made by `pvse index`", error=GalleryIndexError)
DEFAULT_ASSETS = (DEFAULT_MODEL, DEFAULT_GALLERY)


def asset_files(asset: HubAsset, folder: str | Path) -> dict[str, Path]:
    """The asset's files inside `folder` (a copy of the asset), by their path in the Hub repo, sorted."""
    from huggingface_hub.utils import filter_repo_objects

    folder = Path(folder)
    found = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*")
             if p.is_file() and not p.relative_to(folder).parts[0].startswith(".")}
    return {name: found[name] for name in sorted(filter_repo_objects(found, allow_patterns=list(asset.patterns)))}


def _installed_dirs() -> set[str]:
    dirs = {sysconfig.get_paths().get(key) for key in ("purelib", "platlib")}
    try:
        dirs |= set(site.getsitepackages()) | {site.getusersitepackages()}
    except AttributeError:  # some virtualenv versions' site module lacks them
        pass
    return {os.path.realpath(d) for d in dirs if d}


def checkout_dir(asset: HubAsset) -> Path | None:
    """A source checkout's own copy of `asset`, or None.

    The one place pvse reads a path relative to the repository: in a checkout (and in the Space, uploaded in
    the same layout) the package folder pvse/ sits at the top, so the checkout is the folder above it. An
    installed package (pvse/ inside site-packages) has no checkout, nor does a checkout lacking the files.
    """
    root = Path(__file__).resolve().parents[1]
    if root.name in ("site-packages", "dist-packages") or os.path.realpath(root) in _installed_dirs():
        return None
    folder = root / asset.checkout
    return folder if (folder / asset.marker).is_file() else None


def download_dir(asset: HubAsset) -> Path:
    """Where the Hub copy of `asset` at its pinned revision is kept (huggingface_hub's assets cache)."""
    from huggingface_hub import constants

    namespace = f"{asset.repo_type}s--{asset.repo_id.replace('/', '--')}"
    return Path(constants.HF_ASSETS_CACHE).expanduser() / LIBRARY_NAME / namespace / asset.revision


def download_asset(asset: HubAsset) -> Path:
    """The asset's folder downloaded from the Hub (once; afterwards, and offline, no network call)."""
    from huggingface_hub import constants

    target = download_dir(asset)
    if (target / _COMPLETE).is_file() and (target / asset.marker).is_file():
        return target
    where = f"{asset.name} ({asset.repo_type} repo '{asset.repo_id}' at revision '{asset.revision}')"
    if constants.HF_HUB_OFFLINE:
        raise asset.error(f"{where} is not downloaded yet and HF_HUB_OFFLINE is set: run once online (it is "
                          f"downloaded to {target}), or {asset.override}.")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    try:
        snapshot_download(asset.repo_id, repo_type=asset.repo_type, revision=asset.revision, local_dir=target,
                          allow_patterns=list(asset.patterns))
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise asset.error(f"{where} does not exist at {constants.ENDPOINT} or is private (check HF_ENDPOINT, "
                          f"log in with `hf auth login`), or {asset.override}.") from exc
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        cause = exc.__cause__ or exc
        detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise asset.error(f"could not download {where} from {constants.ENDPOINT}: {detail}. Check the network, "
                          f"or {asset.override}.") from exc
    if not (target / asset.marker).is_file():
        raise asset.error(f"{where} has no {asset.marker}: the repo does not hold this asset; {asset.override}.")
    (target / _COMPLETE).parent.mkdir(parents=True, exist_ok=True)
    (target / _COMPLETE).write_text(f"{asset.repo_type} {asset.repo_id} {asset.revision}\n")
    return target


def asset_dir(asset: HubAsset) -> Path:
    """The asset's folder on this machine: the checkout's copy, else the Hub download (see the module doc)."""
    return checkout_dir(asset) or download_asset(asset)


def asset_path(asset: HubAsset) -> Path:
    """The path inside the asset that callers use (the checkpoint directory, the index directory)."""
    folder = asset_dir(asset)
    return folder / asset.entry if asset.entry else folder


def default_weights() -> str:
    """$PVSE_WEIGHTS, else the default model's checkpoint directory (checkout or Hub download)."""
    return weights_override() or str(asset_path(DEFAULT_MODEL))


def weights_override() -> str | None:
    """The weights $PVSE_WEIGHTS names, or None."""
    return os.environ.get(WEIGHTS_ENV) or None


def default_index() -> Path | str:
    """$PVSE_INDEX, else the default gallery's index; a vector-database location (milvus://...) stays a string."""
    location = os.environ.get(INDEX_ENV)
    if location and "://" in location:
        return location
    return Path(location) if location else asset_path(DEFAULT_GALLERY)


def default_gallery() -> Path:
    """The default gallery's folder of GIFs (with manifest.tsv): checkout or Hub download."""
    return asset_dir(DEFAULT_GALLERY) / GALLERY_FOLDER


def default_feature_cache() -> Path:
    """Where frozen frame / word features are cached: $PVSE_FEATURE_CACHE, else ~/.cache/pvse-gif/features."""
    return Path(os.environ.get("PVSE_FEATURE_CACHE") or "~/.cache/pvse-gif/features").expanduser()
