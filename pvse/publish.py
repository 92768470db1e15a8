"""Publish a checkpoint directory as a Hugging Face Hub model repo, with a generated model card; publish the
default assets (`pvse.defaults`) to their repos, tagged with the revision the defaults are pinned to.

The directory is loaded first (`load_checkpoint`), so a broken checkpoint is never pushed; only the
checkpoint's own files (plus README.md) are uploaded, from a staging copy, in one commit.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .checkpoints import WEIGHTS_FILE, Checkpoint, load_checkpoint, read_weights_metadata
from .checkpoints import checkpoint_files as _files_of_config
from .defaults import HubAsset, asset_files
from .errors import PVSEError, WeightsError

LIBRARY_NAME = "pvse-gif"
CARD_FILE = "README.md"
CARD_TAGS = ["pvse", "pvse-gif", "text-to-video-retrieval", "video-text-retrieval", "gif-search", "reaction-gif",
             "visual-semantic-embedding"]
DEFAULT_LICENSE = "mit"
METRIC_PREFIXES = ("val_", "test_", "eval_")
CITATION = """@inproceedings{song-pvse-cvpr19,
  author    = {Yale Song and Mohammad Soleymani},
  title     = {Polysemous Visual-Semantic Embedding for Cross-Modal Retrieval},
  booktitle = {CVPR},
  year      = {2019}
}"""


def _decode(value: str) -> Any:
    """Metadata values are strings (safetensors header); recover numbers, dicts and lists where they parse."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return value


def decode_metadata(raw: dict[str, str]) -> dict[str, Any]:
    """A checkpoint's stored metadata with its values decoded (see `_decode`)."""
    return {key: _decode(value) for key, value in raw.items()}


def read_checkpoint_metadata(checkpoint_dir: str | Path) -> dict[str, Any]:
    """The `metadata` given to save_checkpoint (stored in model.safetensors' header), values decoded."""
    return decode_metadata(read_weights_metadata(Path(checkpoint_dir) / WEIGHTS_FILE))


def checkpoint_files(checkpoint: Checkpoint) -> list[str]:
    """The files that make up a checkpoint of this config (what gets uploaded, besides the card)."""
    return _files_of_config(checkpoint.config)


def _table(header: str, rows: list[tuple[str, Any]]) -> str:
    cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return f"| {header} | value |\n|---|---|\n" + "\n".join(f"| {cell(k)} | {cell(v)} |" for k, v in rows)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def build_model_card(checkpoint: Checkpoint, repo_id: str, metadata: dict[str, Any] | None = None,
                     license: str | None = None):
    """A `huggingface_hub.ModelCard` describing the checkpoint: library, tags, license, config, metrics."""
    from huggingface_hub import ModelCard, ModelCardData

    metadata = dict(metadata or {})
    config = checkpoint.config
    license = license or metadata.get("license") or DEFAULT_LICENSE
    extra: dict[str, Any] = {}
    if license == "other":
        extra["license_name"] = str(metadata.get("license_name", "academic-use-only"))
        if metadata.get("source"):
            extra["license_link"] = str(metadata["source"])
    datasets = metadata.get("dataset") or metadata.get("datasets")
    card_data = ModelCardData(library_name=LIBRARY_NAME, tags=list(CARD_TAGS), license=license,
                              datasets=[datasets] if isinstance(datasets, str) else datasets,
                              model_name=repo_id.split("/")[-1], **extra)
    metrics = metadata.pop("metrics", None)
    if metrics is None or isinstance(metrics, dict):  # flat entries such as the trainer's val_rsum join the table
        flat = {k: v for k, v in metadata.items() if k.startswith(METRIC_PREFIXES)
                and isinstance(v, (int, float)) and not isinstance(v, bool)}
        metrics = {**(metrics or {}), **flat} or None
        for key in flat:
            metadata.pop(key)
    for key in ("license", "license_name", "dataset", "datasets"):
        metadata.pop(key, None)
    metadata = {k: v for k, v in metadata.items() if v not in ("", None)}
    global_feature = ("last GRU output (reference code's legacy mode)" if config.legacy_global
                      else "final hidden states of both GRU directions")
    model_rows = [("embeddings per item (K)", config.num_embeds), ("embedding size (H)", config.embed_dim),
                  ("frame features", f"{config.frame_features} ({config.frame_dim}-d), {config.num_frames} frames per clip"),
                  ("word features", f"{config.word_features} ({config.word_dim}-d"
                   + (f", {config.vocab_size} words)" if config.vocab_size else ")")),
                  ("global feature", global_feature), ("fingerprint", checkpoint.fingerprint)]
    sections = [
        f"# {repo_id.split('/')[-1]}",
        "A **pvse-gif** checkpoint: Polysemous Visual-Semantic Embedding "
        "(PVSE, Song & Soleymani, CVPR 2019) maps a sentence and a short clip (a reaction GIF) to K embeddings "
        "each; a pair scores the best of the K x K cosine similarities.",
        "## Use\n\n```python\nimport pvse\n\npipe = pvse.load(\"" + repo_id + "\")\n"
        "emb = pipe.encode_text([\"when the build finally passes\"]).embeddings  # (1, K, H), L2-normalised\n```",
        "## Model\n\n" + _table("setting", model_rows),
    ]
    if isinstance(metrics, dict) and metrics:
        sections.append("## Evaluation\n\n" + _table("metric", [(k, _fmt(v)) for k, v in metrics.items()]))
    elif metrics is not None:
        sections.append(f"## Evaluation\n\n{metrics}")
    if metadata:
        sections.append("## Provenance\n\n" + _table("key", [(k, _fmt(v)) for k, v in sorted(metadata.items())]))
    sections += [
        "## Configuration\n\n```json\n" + config.to_json() + "\n```",
        "## Files\n\n" + "\n".join(f"- `{name}`" for name in checkpoint_files(checkpoint)),
        "## Citation\n\n```bibtex\n" + CITATION + "\n```",
    ]
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n")


def _stage(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # same filesystem: no copy of hundreds of MB
    except OSError:
        shutil.copy2(src, dst)


def push_checkpoint(checkpoint_dir: str | Path, repo_id: str, private: bool = False, token: str | None = None,
                    api: Any = None, *, license: str | None = None, commit_message: str | None = None) -> str:
    """Upload a checkpoint directory to the Hub model repo `repo_id` (created if needed); returns the repo URL.

    `api` defaults to `huggingface_hub.HfApi(token=token)`; anything with the same `create_repo` and
    `upload_folder` methods works. A README.md already in the directory is uploaded as the card instead.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    checkpoint_dir = Path(checkpoint_dir).expanduser()
    if not checkpoint_dir.is_dir():
        raise WeightsError(f"{checkpoint_dir} is not a directory: push a checkpoint directory made by "
                           "`pvse train` or `pvse convert`.")
    try:
        validate_repo_id(repo_id)
        if repo_id.count("/") != 1:
            raise HFValidationError("it must be 'user/name' or 'organisation/name'")
    except HFValidationError as exc:
        raise PVSEError(f"'{repo_id}' is not a valid Hub repo id: {exc}") from exc
    checkpoint = load_checkpoint(checkpoint_dir, device="cpu")  # a broken checkpoint stops here
    metadata = decode_metadata(checkpoint.metadata)
    if api is None:
        from huggingface_hub import HfApi
        api = HfApi(token=token)
    from huggingface_hub.errors import HfHubHTTPError

    with tempfile.TemporaryDirectory(prefix="pvse-push-") as staging:
        staging_dir = Path(staging)
        for name in checkpoint_files(checkpoint):
            _stage(checkpoint_dir / name, staging_dir / name)
        if (checkpoint_dir / CARD_FILE).is_file():
            _stage(checkpoint_dir / CARD_FILE, staging_dir / CARD_FILE)
        else:
            build_model_card(checkpoint, repo_id, metadata, license).save(staging_dir / CARD_FILE)
        try:
            url = api.create_repo(repo_id, token=token, private=private, repo_type="model", exist_ok=True)
            api.upload_folder(repo_id=repo_id, folder_path=staging_dir, token=token, repo_type="model",
                              commit_message=commit_message or f"Upload pvse-gif checkpoint {checkpoint.fingerprint}")
        except HfHubHTTPError as exc:
            raise PVSEError(f"could not publish to Hub repo '{repo_id}': {exc}. Check that you may write there "
                            "(`hf auth login` or --token).") from exc
        except (OSError, ValueError) as exc:
            raise PVSEError(f"could not publish to Hub repo '{repo_id}': {exc}") from exc
    return str(url)


def push_asset(asset: HubAsset, folder: str | Path, *, token: str | None = None, api: Any = None,
               card: str | None = None) -> str:
    """Publish a default asset from `folder` (a copy in the asset's layout) to its Hub repo and tag the commit
    with the asset's pinned revision, so that `pvse.defaults.download_asset` finds exactly these files.

    A model asset goes through `push_checkpoint` (loaded first; its files must be the asset's files); any other
    is uploaded as its files (`pvse.defaults.asset_files`) plus `card` as README.md. A revision tag that
    already exists is an error: published content under a pinned revision never changes.
    """
    folder = Path(folder).expanduser()
    files = asset_files(asset, folder) if folder.is_dir() else {}
    if asset.marker not in files:
        raise PVSEError(f"{folder} is not a copy of {asset.name}: {asset.marker} is missing")
    if api is None:
        from huggingface_hub import HfApi
        api = HfApi(token=token)
    from huggingface_hub.errors import HfHubHTTPError

    if asset.repo_type == "model":
        expected = checkpoint_files(load_checkpoint(folder, device="cpu"))
        if sorted(expected) != sorted(files):
            raise PVSEError(f"{folder} holds {sorted(files)} but its checkpoint is made of {sorted(expected)}")
        url = push_checkpoint(folder, asset.repo_id, token=token, api=api,
                              commit_message=f"{asset.name}, revision {asset.revision}")
    else:
        with tempfile.TemporaryDirectory(prefix="pvse-push-") as staging:
            staging_dir = Path(staging)
            for name, path in files.items():
                (staging_dir / name).parent.mkdir(parents=True, exist_ok=True)
                _stage(path, staging_dir / name)
            if card is not None:
                (staging_dir / CARD_FILE).write_text(card, encoding="utf-8")
            try:
                url = api.create_repo(asset.repo_id, token=token, repo_type=asset.repo_type, exist_ok=True)
                api.upload_folder(repo_id=asset.repo_id, folder_path=staging_dir, token=token,
                                  repo_type=asset.repo_type, commit_message=f"{asset.name}, revision {asset.revision}")
            except HfHubHTTPError as exc:
                raise PVSEError(f"could not publish to Hub repo '{asset.repo_id}': {exc}. Check that you may write "
                                "there (`hf auth login` or --token).") from exc
    try:
        api.create_tag(asset.repo_id, tag=asset.revision, repo_type=asset.repo_type, token=token)
    except HfHubHTTPError as exc:
        raise PVSEError(f"uploaded {asset.name} to '{asset.repo_id}' but could not tag it '{asset.revision}' ({exc}); "
                        "if that tag exists already, give the asset a new revision in pvse/defaults.py") from exc
    return str(url)
