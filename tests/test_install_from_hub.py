"""A non-editable install answers `pvse search` with the default model and gallery from the Hub, over real HTTP.

The project's wheel is built (no build isolation, no network) from a copy of the checkout and must carry no
weights, gallery or index; it is installed into a fresh venv that reuses this interpreter's packages
(`--system-site-packages`, plus a .pth to its packages when it is itself a venv; `--no-deps`), where `import pvse`
must be the installed copy, not a checkout. Then
`pvse search --json` runs from an empty folder with `HF_ENDPOINT` at a local Hub server (tests/hub_server.py)
serving the checkout's own weights and gallery as the default repos at their pinned revisions, and `HF_HOME` in
a temporary folder: the first run downloads, a second with HF_HUB_OFFLINE=1 answers without a request, and
offline with an empty cache is one line saying what to do. About a minute (`-m "not wheel"` skips it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hub_server import HubServer, Repo

from pvse.defaults import DEFAULT_ASSETS, DEFAULT_GALLERY, asset_files
from pvse.recipe import read_recipe

pytestmark = pytest.mark.wheel
REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("pyproject.toml", "README.md", "pvse", "demo", "weights", "gallery", "app.py")
COMMIT = "e" * 40
QUERY = "so happy I could cry"


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's bin folder, with the project's wheel installed in it (not editable)."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # setuptools writes build/ and *.egg-info next to the sources: never into the checkout
    source.mkdir()
    for name in SOURCE:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO_ROOT / name, source / name)
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "-w", str(tmp / "dist"), str(source)])
    assert built.returncode == 0, built.stderr
    wheel = next((tmp / "dist").glob("pvse_gif-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "pvse/defaults.py" in names and "pvse/cli/search.py" in names
    assert "pvse/recipes/default.args" in names  # package data: `pvse train`'s defaults
    assert not [n for n in names if n.split("/")[0] in ("weights", "gallery")
                or n.endswith((".safetensors", ".gif", ".faiss", ".npy"))], "the wheel carries assets"
    venv = tmp / "venv"
    assert run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)]).returncode == 0
    bin_dir = venv / "bin"
    inherit_packages(bin_dir / "python")
    done = run([str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall",
                str(wheel)], env=clean_env())
    assert done.returncode == 0, done.stderr
    where = run([str(bin_dir / "python"), "-c", "import pvse; print(pvse.__file__)"], env=clean_env(), cwd=tmp)
    assert where.returncode == 0 and Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr
    return bin_dir


def inherit_packages(python: Path) -> None:
    """Give the new venv this interpreter's packages. `--system-site-packages` adds the *base* Python's, which are
    this interpreter's only outside a venv; inside one (a newcomer's setup) torch and the rest are in the venv's
    own site-packages, so they are added with a .pth file, after the new venv's own (the wheel stays first)."""
    if sys.prefix == sys.base_prefix:
        return
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env=clean_env())
    assert site.returncode == 0, site.stderr
    ours = [p for p in sys.path if p.endswith("-packages") and Path(p).is_relative_to(sys.prefix)]
    (Path(site.stdout.strip()) / "_running_interpreter_packages.pth").write_text("\n".join(ours) + "\n")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would pick the checkout or the offline switches."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "TRANSFORMERS_OFFLINE", "PVSE_WEIGHTS", "PVSE_INDEX") and not k.startswith("HF_")}
    return {**env, "HF_HUB_DISABLE_TELEMETRY": "1", **extra}


@pytest.fixture(scope="module")
def hub():
    repos = {(a.repo_type, a.repo_id): Repo(commits={COMMIT: asset_files(a, REPO_ROOT / a.checkout)},
                                            refs={a.revision: COMMIT}) for a in DEFAULT_ASSETS}
    with HubServer(repos) as server:
        yield server


def search(bin_dir: Path, hub: HubServer, home: Path, cwd: Path, offline: bool = False) -> subprocess.CompletedProcess:
    env = clean_env(HF_ENDPOINT=hub.url, HF_HOME=str(home), PVSE_FEATURE_CACHE=str(home / "features"),
                    **({"HF_HUB_OFFLINE": "1"} if offline else {}))
    return run([str(bin_dir / "pvse"), "search", QUERY, "--json", "--top-k", "3", "--device", "cpu"], env=env, cwd=cwd)


def test_an_installed_wheel_searches_the_default_gallery_from_the_hub_then_offline(installed, hub, tmp_path):
    home, cwd = tmp_path / "hf-home", tmp_path / "elsewhere"
    cwd.mkdir()
    hub.requests.clear()
    first = search(installed, hub, home, cwd)
    assert first.returncode == 0, first.stderr
    hits = json.loads(first.stdout)
    assert len(hits) == 3
    for hit in hits:  # absolute paths into the downloaded gallery, which the caller can open
        path = Path(hit["path"])
        assert path.is_absolute() and path.is_relative_to(home) and path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert any(r.startswith("GET /datasets/" + DEFAULT_GALLERY.repo_id + "/resolve/") for r in hub.requests)
    assert any(r.startswith("GET /api/models/") for r in hub.requests)  # the pinned tag was resolved

    hub.requests.clear()
    again = search(installed, hub, home, cwd, offline=True)
    assert again.returncode == 0 and json.loads(again.stdout) == hits and hub.requests == [], again.stderr

    cold = search(installed, hub, tmp_path / "empty-home", cwd, offline=True)
    lines = [line for line in cold.stderr.splitlines() if line.strip()]
    assert cold.returncode == 2 and len(lines) == 1 and "Traceback" not in cold.stderr, cold.stderr
    assert "HF_HUB_OFFLINE" in lines[0] and "run once online" in lines[0] and "PVSE_INDEX" in lines[0]


def test_an_installed_wheel_reads_its_packaged_recipe(installed, tmp_path):
    done = run([str(installed / "pvse"), "train", "--help"], env=clean_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    recipe = read_recipe()  # this checkout's
    words = recipe[recipe.index("--word-features") + 1]
    assert f"(default{words})" in "".join(done.stdout.split())  # from the wheel's copy: cwd is no checkout
