"""The Hugging Face Space's settings: `Spaces.yaml` -> README front matter, and the Space upload.

The Hub reads a Space's settings only from the YAML front matter of its README.md, while this project
keeps them in `Spaces.yaml` (readable, commented). This module validates `Spaces.yaml` with
huggingface_hub's `SpaceCardData`, writes it to the top of README.md idempotently (the body is left
untouched), checks that the two agree, and pushes the Space:

    python -m tools.space_card --write README.md     # create / update the front matter
    python -m tools.space_card --check README.md     # exit 1 when README.md and Spaces.yaml differ
    python -m tools.space_card --push user/space     # upload the app, library, weights and gallery
    python -m tools.space_card --push user/space --dry-run   # list what would be uploaded
    python -m tools.space_card --push-defaults [--dry-run]   # publish the default model and gallery

The Space carries the default model and gallery in a checkout's layout (`pvse.defaults`: each asset's files
under its checkout folder), so the app finds them there; `--push-defaults` publishes the same files to the
assets' Hub repos, tagged with the revision `pvse.defaults` pins, for installs without a checkout.
"""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

from pvse.atomic_file import atomic_file
from pvse.defaults import DEFAULT_ASSETS, DEFAULT_GALLERY, HubAsset, asset_files
from pvse.errors import PVSEError

from . import REPO_ROOT

SPACES_YAML = REPO_ROOT / "Spaces.yaml"
REQUIRED_KEYS = ("title", "emoji", "sdk", "sdk_version", "python_version", "app_file", "suggested_hardware",
                 "models", "license")
# https://huggingface.co/docs/hub/spaces-config-reference
KNOWN_KEYS = frozenset(REQUIRED_KEYS) | {
    "colorFrom", "colorTo", "short_description", "tags", "pinned", "datasets", "thumbnail", "fullWidth", "header",
    "app_port", "base_path", "suggested_storage", "disable_embedding", "startup_duration_timeout",
    "custom_headers", "preload_from_hub", "hf_oauth", "hf_oauth_scopes", "hf_oauth_expiration_minutes",
}
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
HARDWARE = {"cpu-basic", "cpu-upgrade", "zero-a10g", "t4-small", "t4-medium", "l4x1", "l4x4", "l40sx1", "l40sx4",
            "l40sx8", "a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4", "a100-large", "h100", "h100x8"}
# What the Space needs from this repository besides the default assets (relative paths or folders); tests, CI
# and docs stay behind.
SPACE_CONTENT = ("app.py", "README.md", "demo", "pvse")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
# Spaces install gradio itself at `sdk_version`; listing it again in requirements.txt could change it.
PROVIDED_BY_SPACES = {"gradio"}
_FRONT_MATTER = re.compile(r"\A\s*---\r?\n(?:[\s\S]*?\r?\n)?---[ \t]*(?:\r?\n|\Z)")


class SpaceConfigError(PVSEError):
    """Spaces.yaml is missing, malformed, or says something the Hub would reject."""


def load_space_settings(path: str | Path = SPACES_YAML) -> dict:
    """Read and validate `Spaces.yaml`; returns its mapping in file order."""
    path = Path(path)
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpaceConfigError(f"cannot read the Space settings {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SpaceConfigError(f"{path} is not valid YAML: {exc}") from exc
    validate_space_settings(settings, source=str(path), repo_root=path.resolve().parent)
    return settings


def validate_space_settings(settings: object, source: str = "Spaces.yaml", repo_root: Path = REPO_ROOT) -> None:
    """Raise SpaceConfigError naming each problem the Hub (or the app) would trip over."""
    if not isinstance(settings, dict):
        raise SpaceConfigError(f"{source} must be a mapping of Space settings, got {type(settings).__name__}")
    problems = [f"missing '{key}'" for key in REQUIRED_KEYS if key not in settings]
    problems += [f"unknown key '{key}' (typo? see the Spaces config reference)" for key in settings if key not in KNOWN_KEYS]
    if settings.get("sdk", "gradio") != "gradio":
        problems.append(f"sdk must be 'gradio', got {settings['sdk']!r}")
    if "sdk_version" in settings and not re.fullmatch(r"\d+\.\d+\.\d+", str(settings["sdk_version"])):
        problems.append(f"sdk_version must be a full version like 6.31.0, got {settings['sdk_version']!r}")
    if "python_version" in settings and not isinstance(settings["python_version"], str):
        problems.append("python_version must be a quoted string (3.10 unquoted is the number 3.1)")
    if "app_file" in settings and not (repo_root / str(settings["app_file"])).is_file():
        problems.append(f"app_file {settings['app_file']!r} does not exist in {repo_root}")
    for key in ("colorFrom", "colorTo"):
        if key in settings and settings[key] not in COLORS:
            problems.append(f"{key} must be one of {sorted(COLORS)}, got {settings[key]!r}")
    if "suggested_hardware" in settings and settings["suggested_hardware"] not in HARDWARE:
        problems.append(f"suggested_hardware {settings['suggested_hardware']!r} is not a Space hardware name")
    for key in ("models", "datasets", "tags"):
        value = settings.get(key, [])
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{key} must be a list of strings")
    if any("/" not in m for m in settings.get("models") or [] if isinstance(m, str)):
        problems.append("models must be Hub repo ids like 'user/repo'")
    if len(str(settings.get("short_description", ""))) > 60:
        problems.append("short_description must be at most 60 characters")
    if problems:
        raise SpaceConfigError(f"{source}: " + "; ".join(problems))
    _card_data(settings)  # huggingface_hub's own parsing must accept it too


def _card_data(settings: dict):
    from huggingface_hub import SpaceCardData
    try:
        return SpaceCardData(**settings)
    except (TypeError, ValueError) as exc:
        raise SpaceConfigError(f"huggingface_hub rejects the Space settings: {exc}") from exc


def front_matter(settings: dict) -> str:
    """The README front matter block for `settings` (through `SpaceCardData`, keys in Spaces.yaml order)."""
    return f"---\n{_card_data(settings).to_yaml(original_order=list(settings))}\n---\n"


def split_front_matter(text: str) -> tuple[str | None, str]:
    """README text -> (front matter block or None, body)."""
    match = _FRONT_MATTER.match(text)
    return (match.group(0), text[match.end():]) if match else (None, text)


def readme_space_data(readme: str | Path) -> dict | None:
    """The Space settings as the Hub reads them from README.md (huggingface_hub's `SpaceCard`); None without any."""
    from huggingface_hub import SpaceCard
    text = Path(readme).read_text(encoding="utf-8")
    if split_front_matter(text)[0] is None:
        return None
    return SpaceCard(text).data.to_dict()


def with_front_matter(readme_text: str, settings: dict) -> str:
    """README text whose front matter is exactly `settings` (replaced if present, prepended if not)."""
    return front_matter(settings) + split_front_matter(readme_text)[1]


def write_front_matter(readme: str | Path, spaces_yaml: str | Path = SPACES_YAML) -> bool:
    """Create / update README's front matter from Spaces.yaml, atomically. Returns True when the file changed."""
    readme = Path(readme)
    settings = load_space_settings(spaces_yaml)
    old = readme.read_text(encoding="utf-8") if readme.exists() else ""
    new = with_front_matter(old, settings)
    if new == old:
        return False
    with atomic_file(readme, "w", encoding="utf-8", newline="") as fh:
        fh.write(new)
    return True


def front_matter_differences(readme: str | Path, spaces_yaml: str | Path = SPACES_YAML) -> list[str]:
    """What README's front matter gets wrong relative to Spaces.yaml (empty when they agree)."""
    expected = _card_data(load_space_settings(spaces_yaml)).to_dict()
    actual = readme_space_data(readme)
    if actual is None:
        return [f"{readme} has no front matter: run `python -m tools.space_card --write {readme}`"]
    return [f"{key}: README has {actual.get(key)!r}, Spaces.yaml has {expected.get(key)!r}"
            for key in sorted(set(expected) | set(actual)) if actual.get(key) != expected.get(key)]


def space_requirements(pyproject: str | Path = REPO_ROOT / "pyproject.toml") -> str:
    """requirements.txt for the Space: the project's dependencies, except those the Space provides."""
    deps = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))["project"]["dependencies"]
    keep = [d for d in deps if re.split(r"[\s<>=!~\[;]", d, maxsplit=1)[0].lower() not in PROVIDED_BY_SPACES]
    return "# generated by `python -m tools.space_card --push` from pyproject.toml\n" + "\n".join(keep) + "\n"


@dataclass(frozen=True)
class SpaceUpload:
    """What a push sends: repository files (path in repo -> local file) plus generated files (path -> bytes)."""

    files: dict[str, Path]
    generated: dict[str, bytes]

    def operations(self) -> list:
        from huggingface_hub import CommitOperationAdd
        ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(f)) for p, f in sorted(self.files.items())]
        return ops + [CommitOperationAdd(path_in_repo=p, path_or_fileobj=b) for p, b in sorted(self.generated.items())]


def checkout_asset_files(asset: HubAsset, repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """A default asset's files in the checkout at `repo_root`, by path in the asset's Hub repo."""
    folder = repo_root / asset.checkout
    files = asset_files(asset, folder) if folder.is_dir() else {}
    if asset.marker not in files:
        raise SpaceConfigError(f"{asset.name} is missing: {folder / asset.marker} is not there (build the bundled "
                               "default first, weights/make_default.sh)")
    return files


GALLERY_CARD = """---
license: cc-by-4.0
pretty_name: Noto animated emoji gallery for pvse-gif
tags: [pvse-gif, gif-search, reaction-gif]
---

# Noto animated emoji gallery

The default gallery of pvse-gif: 445 Noto emoji animations (GIF) with their manifest, and
the pvse-gif index that searches them (`noto-emoji.index/`, built with the default model). See
`noto-emoji/CREDITS.md` for credits and licences (animations CC BY 4.0, CLDR annotations Unicode License v3).
"""


def push_defaults(repo_root: Path = REPO_ROOT, *, token: str | None = None, api=None) -> list[str]:
    """Publish the default model and gallery from the checkout to their Hub repos (`pvse.publish.push_asset`)."""
    from pvse.publish import push_asset
    urls = []
    for asset in DEFAULT_ASSETS:
        checkout_asset_files(asset, repo_root)  # a clear error before anything is uploaded
    for asset in DEFAULT_ASSETS:
        card = GALLERY_CARD if asset == DEFAULT_GALLERY else None
        urls.append(push_asset(asset, repo_root / asset.checkout, token=token, api=api, card=card))
    return urls


def plan_space_upload(repo_root: Path = REPO_ROOT) -> SpaceUpload:
    """Collect the Space's files; refuses when README's front matter is stale or the bundled model is missing."""
    readme = repo_root / "README.md"
    stale = front_matter_differences(readme, repo_root / "Spaces.yaml")
    if stale:
        raise SpaceConfigError("README.md front matter does not match Spaces.yaml (" + "; ".join(stale)
                               + "); run `python -m tools.space_card --write README.md` first")
    files: dict[str, Path] = {}
    for entry in SPACE_CONTENT:
        path = repo_root / entry
        if not path.exists():
            raise SpaceConfigError(f"the Space needs {path}, which is missing (build the bundled default first)")
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            rel = file.relative_to(repo_root)
            if not SKIP_PARTS & set(rel.parts) and file.suffix not in {".pyc", ".pyo"}:
                files[rel.as_posix()] = file
    for asset in DEFAULT_ASSETS:
        files.update({f"{asset.checkout}/{name}": path for name, path in checkout_asset_files(asset, repo_root).items()})
    return SpaceUpload(files=files, generated={"requirements.txt": space_requirements(repo_root / "pyproject.toml").encode()})


def push_space(repo_id: str, *, repo_root: Path = REPO_ROOT, private: bool = False, token: str | None = None,
               api=None) -> str:
    """Create (if needed) the Space `repo_id` and upload the app to it in one commit; returns the commit URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
    upload = plan_space_upload(repo_root)
    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        info = api.create_commit(repo_id, repo_type="space", operations=upload.operations(),
                                 commit_message="Update the pvse-gif demo")
    except OfflineModeIsEnabled as exc:
        raise PVSEError(f"cannot push the Space {repo_id}: offline mode is on (unset HF_HUB_OFFLINE)") from exc
    except (HfHubHTTPError, OSError) as exc:
        raise PVSEError(f"pushing the Space {repo_id} failed: {exc}. Log in with `hf auth login` (a write token) "
                        "and check the repo id.") from exc
    return str(getattr(info, "commit_url", info))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.space_card", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="README", help="write Spaces.yaml as the front matter of README")
    action.add_argument("--check", metavar="README", help="exit 1 when README's front matter differs from Spaces.yaml")
    action.add_argument("--push", metavar="USER/SPACE", help="upload the Space (needs network and a write token)")
    action.add_argument("--push-defaults", action="store_true", help="publish the default model and gallery to "
                        "their Hub repos (pvse/defaults.py), tagged with their pinned revisions")
    parser.add_argument("--spaces-yaml", default=str(SPACES_YAML), help="the settings file (default: %(default)s)")
    parser.add_argument("--repo-root", default=str(REPO_ROOT), help="with --push: the checkout to upload from "
                        "(default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="with --push / --push-defaults: list the files, "
                        "upload nothing")
    parser.add_argument("--private", action="store_true", help="with --push: create the Space private")
    args = parser.parse_args(argv)
    try:
        if args.write:
            changed = write_front_matter(args.write, args.spaces_yaml)
            print(f"{args.write}: front matter {'updated' if changed else 'already up to date'}")
        elif args.check:
            problems = front_matter_differences(args.check, args.spaces_yaml)
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        elif args.push_defaults and args.dry_run:
            for asset in DEFAULT_ASSETS:
                files = checkout_asset_files(asset, Path(args.repo_root))
                for name in files:
                    print(f"{asset.repo_type} {asset.repo_id}@{asset.revision}: {name}")
                print(f"{len(files)} files would go to {asset.repo_type} repo {asset.repo_id}, tagged {asset.revision}")
        elif args.push_defaults:
            for url in push_defaults(Path(args.repo_root)):
                print(url)
        elif args.dry_run:
            upload = plan_space_upload(Path(args.repo_root))
            for path in [*upload.files, *upload.generated]:
                print(path)
            print(f"{len(upload.files) + len(upload.generated)} files would go to the Space {args.push}")
        else:
            print(push_space(args.push, repo_root=Path(args.repo_root), private=args.private))
    except PVSEError as exc:
        print(f"tools.space_card: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
