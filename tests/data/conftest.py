"""Fixtures of the data tests: a tiny MRW release folder (see mrw_fixture.py)."""
from pathlib import Path

import pytest
from mrw_fixture import build_mrw


@pytest.fixture(scope="session")
def mrw_root(tmp_path_factory, shared_dir) -> Path:
    return build_mrw(tmp_path_factory.mktemp("mrw") / "mrw", shared_dir)
