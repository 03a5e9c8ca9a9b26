"""Shared set-up for the interop tests: the `postlaunch` binary, one demo lake, and `pl_sql`.

The binary comes from the `POSTLAUNCH_BIN` environment variable (e.g.
`target/debug/postlaunch`); without it every test errors instead of skipping, because a green
run that tested nothing would hide a broken build.

The demo lake is built once per session. The tests are parametrised over the table folders that
are actually in the lake, and parametrisation happens at collection time, before any fixture
runs; so the lake is built the first time collection asks for it (`pytest_generate_tests`) and
the session fixture `demo_lake` hands out that same directory. Set `POSTLAUNCH_KEEP_LAKE=1` to
keep it after the run for a look by hand (its path is printed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

#: Tables that `postlaunch demo` writes; the lake must hold at least these.
EXPECTED_TABLES: frozenset[str] = frozenset(
    {
        "requests",
        "metrics",
        "web_vitals",
        "events",
        "exposures",
        "feedback",
        "deployments",
        "incidents",
        "_rejected",
    }
)

#: Arguments of the demo scenario the tests read: small enough for a debug build.
DEMO_ARGS: tuple[str, ...] = ("--days", "3", "--scale", "0.3")

#: Generous, for a debug build on a busy 2-core machine.
DEMO_TIMEOUT_S = 900
SQL_TIMEOUT_S = 300

_LAKE_KEY = pytest.StashKey[Path]()


def postlaunch_bin() -> Path:
    """Return the binary named by `POSTLAUNCH_BIN`, failing the run if it is unusable."""
    value = os.environ.get("POSTLAUNCH_BIN", "")
    if not value:
        pytest.fail(
            "POSTLAUNCH_BIN is not set; point it at the binary under test, "
            "e.g. POSTLAUNCH_BIN=target/debug/postlaunch",
            pytrace=False,
        )
    path = Path(value).resolve()
    if not path.is_file():
        pytest.fail(f"POSTLAUNCH_BIN=`{value}`: no such file (build it first)", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"POSTLAUNCH_BIN=`{value}` is not executable", pytrace=False)
    return path


def _run(args: list[str], timeout_s: int) -> subprocess.CompletedProcess[str]:
    """Run `postlaunch ARGS`, failing the test with its exit code and stderr if it fails."""
    cmd = [str(postlaunch_bin()), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(cmd)}` did not finish within {timeout_s} s", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` exited with {proc.returncode}\n--- stderr ---\n{proc.stderr}",
            pytrace=False,
        )
    return proc


def pl_sql(lake: Path, query: str) -> list[dict[str, Any]]:
    """Run `query` with `postlaunch sql --format json` on `lake` and return its rows."""
    proc = _run(["sql", "-q", "--lake", str(lake), "--format", "json", query], SQL_TIMEOUT_S)
    try:
        rows = json.loads(proc.stdout)
    except json.JSONDecodeError as err:
        pytest.fail(
            f"`postlaunch sql --format json` printed invalid JSON ({err}) for {query!r}:\n"
            f"{proc.stdout[:2000]}",
            pytrace=False,
        )
    assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows), (
        f"expected a JSON array of objects for {query!r}, got: {proc.stdout[:2000]}"
    )
    return rows


def table_dirs(lake: Path) -> list[str]:
    """Names of the table folders in `lake`, sorted; hidden folders are no tables (as in `sql`)."""
    return sorted(p.name for p in lake.iterdir() if p.is_dir() and not p.name.startswith("."))


def _build_demo_lake(config: pytest.Config) -> Path:
    """Build the session's demo lake on first use and return its path."""
    if _LAKE_KEY in config.stash:
        return config.stash[_LAKE_KEY]
    bin_path = postlaunch_bin()  # check before making a temp dir
    root = Path(tempfile.mkdtemp(prefix="postlaunch-interop-"))
    if os.environ.get("POSTLAUNCH_KEEP_LAKE"):
        print(f"\ninterop demo lake kept at {root / 'lake'}")
    else:
        config.add_cleanup(lambda: shutil.rmtree(root, ignore_errors=True))
    lake = root / "lake"
    _run(["demo", "--lake", str(lake), *DEMO_ARGS, "-q"], DEMO_TIMEOUT_S)
    if not lake.is_dir():
        pytest.fail(f"`{bin_path} demo --lake {lake}` succeeded but made no lake", pytrace=False)
    config.stash[_LAKE_KEY] = lake
    return lake


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every test that takes `table` over the table folders of the demo lake.

    The union with `EXPECTED_TABLES` makes a missing table show up as failing tests of that
    table, not as tests that silently were never generated.
    """
    if "table" in metafunc.fixturenames:
        lake = _build_demo_lake(metafunc.config)
        tables = sorted(EXPECTED_TABLES | set(table_dirs(lake)))
        metafunc.parametrize("table", tables)


@pytest.fixture(scope="session")
def demo_lake(request: pytest.FixtureRequest) -> Path:
    """The demo lake: `postlaunch demo --lake DIR --days 3 --scale 0.3`, built once per session."""
    return _build_demo_lake(request.config)
