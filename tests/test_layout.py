"""The layout stays readable: no package holds more than a quarter of the library, no function is longer than a
screen (80 lines) in the library, the app or the benchmarks."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_PACKAGE_SHARE = 0.25
MAX_FUNCTION_LINES = 80


def _lines(files: list[Path]) -> int:
    return sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files)


def test_no_package_holds_more_than_a_quarter_of_the_library():
    library = REPO / "pvse"
    total = _lines(list(library.rglob("*.py")))
    shares = {package.name: _lines(list(package.rglob("*.py"))) / total
              for package in library.iterdir() if (package / "__init__.py").is_file()}
    assert len(shares) >= 8 and total > 10_000  # the library was found
    too_big = {name: f"{share:.0%}" for name, share in shares.items() if share > MAX_PACKAGE_SHARE}
    assert not too_big, f"packages over {MAX_PACKAGE_SHARE:.0%} of pvse/'s lines: {too_big}"


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """'path:line name (N lines)' of every function or method under `root` longer than `limit` lines."""
    found = []
    for file in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{file.relative_to(root.parent)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    assert long_functions(tmp_path) == [f"{tmp_path.name}/m.py:5 long ({MAX_FUNCTION_LINES + 1} lines)"]


@pytest.mark.parametrize("folder", ["pvse", "demo", "benchmarks"])
def test_no_function_is_longer_than_a_screen(folder):
    assert (REPO / folder).is_dir()
    too_long = long_functions(REPO / folder)
    assert not too_long, "functions over 80 lines: " + "; ".join(too_long)
