"""Spaces.yaml <-> README front matter, and the Space upload up to the network call."""
import shutil
import tomllib
from pathlib import Path

import gradio
import pytest
import yaml
from huggingface_hub import SpaceCard, SpaceCardData
from huggingface_hub.utils import filter_repo_objects
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from pvse.defaults import DEFAULT_ASSETS, DEFAULT_GALLERY, DEFAULT_MODEL
from pvse.errors import PVSEError
from tools import space_card

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def test_spaces_yaml_is_valid_and_matches_the_pinned_gradio_and_python():
    settings = space_card.load_space_settings(REPO_ROOT / "Spaces.yaml")
    assert settings["sdk"] == "gradio"
    gradio_pin = next(Requirement(d) for d in PYPROJECT["dependencies"] if Requirement(d).name == "gradio")
    assert settings["sdk_version"] in gradio_pin.specifier, "sdk_version is outside pyproject's gradio pin"
    assert settings["sdk_version"] == gradio.__version__, "the Space would run another gradio than the tests do"
    assert f"{settings['python_version']}.0" in SpecifierSet(PYPROJECT["requires-python"])
    assert (REPO_ROOT / settings["app_file"]).is_file()
    assert SpaceCardData(**settings).to_dict()["sdk_version"] == settings["sdk_version"]


def test_readme_front_matter_matches_spaces_yaml():
    """Fails until `python -m tools.space_card --write README.md` has been run after editing Spaces.yaml."""
    problems = space_card.front_matter_differences(REPO_ROOT / "README.md", REPO_ROOT / "Spaces.yaml")
    assert not problems, "\n".join(problems)


def _settings_copy(tmp_path, **changes):
    settings = yaml.safe_load((REPO_ROOT / "Spaces.yaml").read_text())
    settings.update(changes)
    (tmp_path / "app.py").write_text("# entry\n")
    path = tmp_path / "Spaces.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False))
    return path


def test_write_front_matter_is_idempotent_and_keeps_the_body(tmp_path):
    body = "# pvse-gif\n\nSome text.\n\n---\n\nA horizontal rule above, `---` inside code.\n"
    readme = tmp_path / "README.md"
    readme.write_text(body)
    spaces_yaml = _settings_copy(tmp_path)
    assert space_card.front_matter_differences(readme, spaces_yaml)  # no front matter yet
    assert space_card.main(["--check", str(readme), "--spaces-yaml", str(spaces_yaml)]) == 1
    assert space_card.write_front_matter(readme, spaces_yaml) is True
    first = readme.read_text()
    assert first.startswith("---\ntitle: pvse-gif\n") and first.endswith(body)
    assert space_card.write_front_matter(readme, spaces_yaml) is False
    assert readme.read_text() == first
    card = SpaceCard(first)  # what the Hub reads
    assert card.data.to_dict() == SpaceCardData(**yaml.safe_load(spaces_yaml.read_text())).to_dict()
    assert card.data.emoji == "🎞️" and card.data.python_version == "3.11"
    assert space_card.main(["--check", str(readme), "--spaces-yaml", str(spaces_yaml)]) == 0

    changed = _settings_copy(tmp_path, title="another title", tags=["x"])
    assert [p.split(":")[0] for p in space_card.front_matter_differences(readme, changed)] == ["tags", "title"]
    assert space_card.main(["--write", str(readme), "--spaces-yaml", str(changed)]) == 0
    updated = readme.read_text()
    assert updated.count("\n---\n") == 2 and updated.endswith(body)  # replaced, not stacked
    assert SpaceCard(updated).data.title == "another title"
    assert not list(tmp_path.glob(".README.md.*"))  # no temporary left behind


@pytest.mark.parametrize("change, message", [
    ({"colorFrom": "teal"}, "colorFrom"),
    ({"python_version": 3.11}, "quoted string"),
    ({"sdk": "streamlit"}, "sdk must be 'gradio'"),
    ({"sdk_version": "6"}, "full version"),
    ({"app_file": "missing.py"}, "does not exist"),
    ({"emoij": "x"}, "unknown key 'emoij'"),
    ({"models": ["no-slash"]}, "repo ids"),
    ({"suggested_hardware": "gpu-please"}, "hardware"),
    ({"short_description": "x" * 61}, "60 characters"),
])
def test_bad_settings_are_reported_by_name(tmp_path, change, message):
    with pytest.raises(space_card.SpaceConfigError, match=message):
        space_card.load_space_settings(_settings_copy(tmp_path, **change))


def test_missing_keys_and_unreadable_files_are_clear(tmp_path):
    (tmp_path / "Spaces.yaml").write_text("title: x\n")
    with pytest.raises(space_card.SpaceConfigError, match="missing 'emoji'.*missing 'license'"):
        space_card.load_space_settings(tmp_path / "Spaces.yaml")
    (tmp_path / "Spaces.yaml").write_text("title: [unclosed\n")
    with pytest.raises(space_card.SpaceConfigError, match="not valid YAML"):
        space_card.load_space_settings(tmp_path / "Spaces.yaml")
    with pytest.raises(space_card.SpaceConfigError, match="cannot read"):
        space_card.load_space_settings(tmp_path / "nope.yaml")


def _fake_checkout(tmp_path) -> Path:
    """A minimal copy of the repository layout the Space needs."""
    root = tmp_path / "repo"
    for rel in ("app.py", "Spaces.yaml", "pyproject.toml", "demo/app.py", "pvse/__init__.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / rel, root / rel)
    for rel in ("weights/default/config.json", "weights/default/model.safetensors", "gallery/noto-emoji/001-smile.gif",
                "gallery/noto-emoji.index/index.json", "gallery/build_noto_emoji.py", "pvse/__pycache__/x.cpython-311.pyc",
                "tests/test_x.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    (root / "README.md").write_text("# pvse-gif\n")
    return root


def test_space_upload_plan_needs_current_front_matter_and_sends_the_right_files(tmp_path):
    root = _fake_checkout(tmp_path)
    with pytest.raises(space_card.SpaceConfigError, match="--write README.md"):
        space_card.plan_space_upload(root)
    space_card.write_front_matter(root / "README.md", root / "Spaces.yaml")
    plan = space_card.plan_space_upload(root)
    assert sorted(plan.files) == ["README.md", "app.py", "demo/app.py", "gallery/noto-emoji.index/index.json",
                                  "gallery/noto-emoji/001-smile.gif", "pvse/__init__.py", "weights/default/config.json",
                                  "weights/default/model.safetensors"]
    requirements = plan.generated["requirements.txt"].decode().splitlines()
    names = {Requirement(line).name for line in requirements if line and not line.startswith("#")}
    assert "torch" in names and "faiss-cpu" in names and "spaces" in names
    assert "gradio" not in names  # the Space installs gradio==sdk_version itself
    ops = plan.operations()
    assert {op.path_in_repo for op in ops} == set(plan.files) | {"requirements.txt"}
    shutil.rmtree(root / "weights")
    with pytest.raises(space_card.SpaceConfigError, match="weights/default/model.safetensors"):
        space_card.plan_space_upload(root)


def test_push_goes_as_far_as_the_network_and_fails_clearly_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    root = _fake_checkout(tmp_path)
    space_card.write_front_matter(root / "README.md", root / "Spaces.yaml")
    with pytest.raises(PVSEError, match="offline mode is on"):
        space_card.push_space("someone/pvse-gif", repo_root=root)


def test_cli_dry_run_lists_files_without_uploading(capsys, tmp_path):
    root = _fake_checkout(tmp_path)
    space_card.write_front_matter(root / "README.md", root / "Spaces.yaml")
    assert space_card.main(["--push", "someone/pvse-gif", "--dry-run", "--repo-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "requirements.txt" in out and "9 files would go to the Space someone/pvse-gif" in out


class RecordingApi:
    """create_repo / upload_folder / create_tag, recording what each repo received."""

    def __init__(self):
        self.uploaded: dict[str, dict[str, bytes]] = {}
        self.tags: list[tuple[str, str, str]] = []

    def create_repo(self, repo_id, **kwargs):
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        folder = Path(folder_path)
        self.uploaded[repo_id] = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
                                  if p.is_file()}

    def create_tag(self, repo_id, *, tag, repo_type, **kwargs):
        self.tags.append((repo_type, repo_id, tag))


def test_push_defaults_publishes_what_the_space_carries_tagged_with_the_pinned_revisions(capsys):
    """One layout: each default asset's Hub repo gets exactly the files the Space carries under the asset's
    checkout folder (plus a card), tagged with the revision pvse.defaults downloads."""
    api = RecordingApi()
    space_card.push_defaults(REPO_ROOT, api=api)
    assert sorted(api.tags) == sorted((a.repo_type, a.repo_id, a.revision) for a in DEFAULT_ASSETS)
    space_files = space_card.plan_space_upload(REPO_ROOT).files
    for asset in DEFAULT_ASSETS:
        in_space = {name[len(asset.checkout) + 1:]: path.read_bytes() for name, path in space_files.items()
                    if name.startswith(asset.checkout + "/")}
        published = {k: v for k, v in api.uploaded[asset.repo_id].items() if k != "README.md"}
        assert published == in_space and asset.marker in published
        assert set(filter_repo_objects(published, allow_patterns=list(asset.patterns))) == set(published)
    assert "noto-emoji/001-smile.gif" in api.uploaded[DEFAULT_GALLERY.repo_id]
    assert space_card.main(["--push-defaults", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"2 files would go to model repo {DEFAULT_MODEL.repo_id}, tagged {DEFAULT_MODEL.revision}" in out


def test_push_defaults_refuses_a_checkout_without_the_assets(tmp_path):
    with pytest.raises(space_card.SpaceConfigError, match="default model is missing"):
        space_card.push_defaults(tmp_path, api=RecordingApi())
