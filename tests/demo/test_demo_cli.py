"""`python -m demo` and the Space's `app.py`: options, environment variables, start-up errors, the URL."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import torch
from demo_process import stop, wait_for_url

from demo.__main__ import build_parser, main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_help_documents_every_option_and_its_environment_variable():
    text = build_parser().format_help()
    for option in ("--weights", "--index", "--device", "--host", "--port", "--share"):
        assert option in text
    for variable in ("PVSE_WEIGHTS", "PVSE_INDEX", "PVSE_DEVICE", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT",
                     "PVSE_SHARE"):
        assert variable in text
    assert "auto|cpu|cuda" in text.replace("{auto,cpu,cuda}", "auto|cpu|cuda") and "pvse index" in text


def test_environment_variables_are_the_defaults(monkeypatch):
    for name, value in {"PVSE_WEIGHTS": "user/repo", "PVSE_INDEX": "/x.index", "PVSE_DEVICE": "cpu",
                        "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7999", "PVSE_SHARE": "1"}.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args([])
    assert (args.weights, args.index, args.device, args.host, args.port, args.share) == \
        ("user/repo", "/x.index", "cpu", "0.0.0.0", 7999, True)
    args = build_parser().parse_args(["--device", "auto", "--port", "8000", "--index", "/y"])
    assert (args.device, args.port, args.index) == ("auto", 8000, "/y")


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_bad_ports_are_usage_errors(monkeypatch, capsys, port):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--port", port])
    assert exit_info.value.code == 2 and "--port" in capsys.readouterr().err
    monkeypatch.setenv("GRADIO_SERVER_PORT", port)
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


def test_missing_index_is_a_clear_message_before_any_server(tmp_path, capsys):
    missing = tmp_path / "nowhere.index"
    assert main(["--index", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "pvse index" in err and "Traceback" not in err


def test_missing_and_mismatched_weights_are_clear(tiny_gallery, tmp_path, capsys):
    assert main(["--index", str(tiny_gallery.index_dir), "--weights", str(tmp_path / "no-weights")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "no-weights") in err and "--weights" in err
    assert main(["--index", str(tiny_gallery.index_dir), "--weights", str(tiny_gallery.other_weights_dir)]) == 2
    err = capsys.readouterr().err
    assert "built with the weights" in err and "rebuild" in err and "Traceback" not in err


def test_hub_weights_offline_name_the_repo_and_the_fix(tiny_gallery, capsys, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main(["--index", str(tiny_gallery.index_dir), "--weights", "someone/pvse-gif-weights"]) == 2
    err = capsys.readouterr().err
    assert "someone/pvse-gif-weights" in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here, so --device cuda is valid")
def test_cuda_without_cuda_is_a_clear_message(tiny_gallery, capsys):
    assert main(["--index", str(tiny_gallery.index_dir), "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_space_entry_point_serves_the_app_configured_by_environment(tiny_gallery, free_port):
    """`python app.py` (what a Space runs) = `python -m demo` with options from the environment."""
    port = free_port()
    env = {**os.environ, "PVSE_INDEX": str(tiny_gallery.index_dir), "PVSE_WEIGHTS": str(tiny_gallery.weights_dir),
           "PVSE_DEVICE": "cpu", "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url = wait_for_url(proc, timeout=90)
        assert url.rstrip("/") == f"http://127.0.0.1:{port}"
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and "pvse-gif" in page.text
    finally:
        stop(proc)
