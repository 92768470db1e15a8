"""Spaces.yaml <-> README front matter, and the Space upload up to the network call."""
import shutil
import tomllib
from pathlib import Path

import gradio
import pytest
import yaml
from huggingface_hub import SpaceCard, SpaceCardData
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

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
    for rel in ("weights/default/config.json", "gallery/noto-emoji/001-smile.gif", "gallery/noto-emoji.index/index.json",
                "pvse/__pycache__/x.cpython-311.pyc", "tests/test_x.py"):
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
                                  "gallery/noto-emoji/001-smile.gif", "pvse/__init__.py", "weights/default/config.json"]
    requirements = plan.generated["requirements.txt"].decode().splitlines()
    names = {Requirement(line).name for line in requirements if line and not line.startswith("#")}
    assert "torch" in names and "faiss-cpu" in names and "spaces" in names
    assert "gradio" not in names  # the Space installs gradio==sdk_version itself
    ops = plan.operations()
    assert {op.path_in_repo for op in ops} == set(plan.files) | {"requirements.txt"}
    shutil.rmtree(root / "weights")
    with pytest.raises(space_card.SpaceConfigError, match="weights/default"):
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
    assert "requirements.txt" in out and "8 files would go to the Space someone/pvse-gif" in out
