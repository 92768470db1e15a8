"""`pvse --help` answers without loading torch (it lists the commands from one table); `pvse search` loads only
what a search uses (torch for the model, no transformers, faiss for a flat index, Gradio, timm or PyAV)."""
import subprocess
import sys

from pvse.cli import COMMANDS

PROBE = """
import contextlib, io, sys
from pvse.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "gradio", "faiss", "transformers", "timm", "matplotlib", "av", "pandas",
                           "onnxruntime") if m in sys.modules)
print(out.getvalue() + "HEAVY=" + ",".join(heavy))
"""


def probe(*argv: str) -> str:
    return subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120,
                          check=True).stdout


def test_top_level_help_lists_every_command_and_loads_nothing_heavy():
    out = probe("--help")
    for name, summary in COMMANDS.items():
        assert name in out and summary.split()[0] in out
    assert out.rstrip().endswith("HEAVY=")


def test_search_help_loads_nothing_heavy():
    out = probe("search", "--help")
    assert "--index" in out and "relative_path" in out and out.rstrip().endswith("HEAVY=")


def test_search_on_the_bundled_flat_index_loads_only_torch():
    out = probe("search", "my reaction when my code compiles", "--json", "--top-k", "3")
    assert '"rank": 1' in out
    assert out.rstrip().endswith("HEAVY=torch")
