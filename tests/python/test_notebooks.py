"""Every notebook under notebooks/ runs to completion against the demo lake (notebooks are
tested as data: a notebook that no longer runs is a failing test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.py"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_the_demo_lake(demo_lake: Path, notebook: Path) -> None:
    env = dict(os.environ, POSTLAUNCH_LAKE=str(demo_lake))
    done = subprocess.run(
        [sys.executable, str(notebook)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{notebook.name} failed:\n{done.stderr}"
    assert "checkout" in done.stdout, "the overview names the services"
