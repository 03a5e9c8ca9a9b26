"""End to end: `postlaunch experiment analyze` against an independent recomputation.

A demo lake (events and exposures only) is analysed by postlaunch; DuckDB then rebuilds every
unit's values straight from the raw Parquet (first exposure, multi-variant exclusion, events
strictly after it) and NumPy/SciPy recompute each goal metric's estimate and p-value, the
Benjamini–Hochberg adjustment and the SRM check. The stored tables `experiment_results` and
`experiment_hourly` are read back with pyarrow and DuckDB, and a 48-hour readout is checked to
be the sum of the last 48 hours of a 14-day readout's hourly statistics (windows are added up,
not rescanned).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.dataset as ds
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from conftest import postlaunch_bin

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "pipelines" / "experiments.toml"
AT = "2026-11-16T00:00:00Z"
RTOL = 1e-9


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(postlaunch_bin()), *args], capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, f"postlaunch {args} failed:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def lake() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="postlaunch-experiment-"))
    lake = root / "lake"
    run(
        [
            "demo", "-q", "--lake", str(lake), "--days", "14", "--scale", "1",
            "--tables", "events,exposures", "--no-malformed",
        ]
    )
    yield lake
    shutil.rmtree(root, ignore_errors=True)


def readout(lake: Path, window: str) -> dict[str, Any]:
    proc = run(
        [
            "experiment", "analyze", "checkout_redesign", "-q", "--lake", str(lake),
            "--config", str(CONFIG), "--window", window, "--at", AT, "--format", "json",
        ]
    )
    return json.loads(proc.stdout)


def units(lake: Path, start: str, end: str) -> dict[str, Any]:
    """Per unit (user) x/y values of each goal metric, rebuilt with DuckDB from raw Parquet."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    def glob(table: str) -> str:
        return f"read_parquet('{lake}/{table}/**/*.parquet', hive_partitioning = true)"

    rows = con.execute(
        f"""
        WITH first AS (
          SELECT user_id, min(variant) AS variant, min(ts) AS first_ts,
                 count(DISTINCT variant) AS variants
          FROM {glob("exposures")}
          WHERE experiment = 'checkout_redesign' AND ts < TIMESTAMPTZ '{end}'
          GROUP BY user_id
        ), entered AS (
          SELECT * FROM first WHERE first_ts >= TIMESTAMPTZ '{start}'
        )
        SELECT u.variants, u.variant,
               count(e.ts) FILTER (WHERE e.event = 'purchase') AS purchases,
               count(e.ts) FILTER (WHERE e.event = 'begin_checkout') AS checkouts,
               coalesce(sum(e.revenue) FILTER (WHERE e.event = 'purchase'), 0) AS revenue
        FROM entered u
        LEFT JOIN {glob("events")} e
          ON e.user_id = u.user_id AND e.ts > u.first_ts AND e.ts < TIMESTAMPTZ '{end}'
        GROUP BY u.user_id, u.variants, u.variant
        """
    ).fetchall()
    out: dict[str, Any] = {"multi": sum(1 for r in rows if r[0] > 1)}
    for arm in ("control", "treatment"):
        sel = [r for r in rows if r[0] == 1 and r[1] == arm]
        out[arm] = {
            "purchases": np.array([r[2] for r in sel], dtype=float),
            "checkouts": np.array([r[3] for r in sel], dtype=float),
            "revenue": np.array([r[4] for r in sel], dtype=float),
        }
    return out


def row(r: dict[str, Any], metric: str) -> dict[str, Any]:
    return next(x for x in r["rows"] if x["metric"] == metric)


def test_readout_matches_an_independent_recomputation(lake: Path) -> None:
    r = readout(lake, "14d")
    u = units(lake, "2026-11-02T00:00:00Z", AT)
    a, b = u["control"], u["treatment"]
    assert r["units"] == {"control": len(a["purchases"]), "treatment": len(b["purchases"])}
    assert r["excluded_multi_variant_units"] == u["multi"]

    # SRM: scipy.stats.chisquare([n_control, n_treatment]) (expected 50/50)
    srm = stats.chisquare([len(a["purchases"]), len(b["purchases"])])
    assert_allclose(r["srm"]["p_value"], srm.pvalue, rtol=RTOL)

    # checkout_conversion, delta method: R = Σx/Σy, Var(R) = (s_xx − 2R s_xy + R² s_yy)/(n ȳ²),
    # p = 2·scipy.stats.norm.sf(|R_B − R_A| / sqrt(Var_A + Var_B))
    def delta(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        ratio = x.mean() / y.mean()
        c = np.cov(x, y, ddof=1)
        var = (c[0, 0] - 2 * ratio * c[0, 1] + ratio**2 * c[1, 1]) / (len(x) * y.mean() ** 2)
        return ratio, var

    ra, va = delta(a["purchases"], a["checkouts"])
    rb, vb = delta(b["purchases"], b["checkouts"])
    conv = row(r, "checkout_conversion")
    assert_allclose([conv["control_value"], conv["variant_value"]], [ra, rb], rtol=RTOL)
    p_conv = 2 * stats.norm.sf(abs(rb - ra) / math.sqrt(va + vb))
    assert_allclose(conv["p_value"], p_conv, rtol=1e-8)

    # purchased: two-proportion z-test, pooled SE; p = 2·scipy.stats.norm.sf(|z|)
    xa, na = int((a["purchases"] > 0).sum()), len(a["purchases"])
    xb, nb = int((b["purchases"] > 0).sum()), len(b["purchases"])
    pooled = (xa + xb) / (na + nb)
    z = (xb / nb - xa / na) / math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    purchased = row(r, "purchased")
    assert_allclose(purchased["p_value"], 2 * stats.norm.sf(abs(z)), rtol=1e-8)

    # revenue_per_user: scipy.stats.ttest_ind(b, a, equal_var=False)
    welch = stats.ttest_ind(b["revenue"], a["revenue"], equal_var=False)
    revenue = row(r, "revenue_per_user")
    assert_allclose(revenue["effect"], b["revenue"].mean() - a["revenue"].mean(), rtol=1e-8)
    assert_allclose(revenue["p_value"], welch.pvalue, rtol=1e-8)

    # Goal metrics adjusted together: scipy.stats.false_discovery_control(p, method="bh")
    goals = [conv, purchased, revenue]
    adjusted = stats.false_discovery_control([g["p_value"] for g in goals], method="bh")
    assert_allclose([g["p_value_adjusted"] for g in goals], adjusted, rtol=RTOL)

    # significant is exactly "the deciding interval excludes 0", for every row
    for x in r["rows"]:
        if x["effect_ci"]["low"] is not None:
            assert x["significant"] == (x["effect_ci"]["low"] > 0 or x["effect_ci"]["high"] < 0)


def test_stored_tables_read_back_and_windows_add_up(lake: Path) -> None:
    long = readout(lake, "14d")
    short = readout(lake, "48h")
    dataset = ds.dataset(lake / "experiment_results", format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert table.num_rows == len(long["rows"]) + len(short["rows"])
    metrics = set(table.column("metric").to_pylist())
    assert {"checkout_conversion", "purchased", "revenue_per_user"} <= metrics

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # The 48-hour window is the last 48 cohort hours of the 14-day readout's hourly statistics
    # (both readouts are stored, each in files named by its window).
    rows_14d = con.execute(
        f"""
        SELECT variant, sum(units), sum(sum_x), sum(sum_y)
        FROM read_parquet('{lake}/experiment_hourly/**/*.parquet', hive_partitioning = true,
                          filename = true)
        WHERE metric = 'checkout_conversion' AND filename LIKE '%_336h--%'
          AND cohort_hour >= TIMESTAMPTZ '{AT}' - INTERVAL 48 HOUR
        GROUP BY variant ORDER BY variant
        """
    ).fetchall()
    conv = row(short, "checkout_conversion")
    (ca, na, xa, ya), (cb, nb, xb, yb) = rows_14d
    assert (ca, cb) == ("control", "treatment")
    assert (na, nb) == (conv["control_units"], conv["variant_units"])
    assert_allclose([xa / ya, xb / yb], [conv["control_value"], conv["variant_value"]], rtol=RTOL)
    assert "no full week" in " ".join(short["notes"])

    # Rows with no metric count the units per cohort hour and variant (NULL: seen in several
    # variants); the 48-hour readout's units are their last 48 hours, and it added up these
    # stored hours instead of scanning raw events.
    units = con.execute(
        f"""
        SELECT coalesce(variant, '(several)'), sum(units)
        FROM read_parquet('{lake}/experiment_hourly/**/*.parquet', hive_partitioning = true,
                          filename = true)
        WHERE metric IS NULL AND filename LIKE '%_336h--%'
          AND cohort_hour >= TIMESTAMPTZ '{AT}' - INTERVAL 48 HOUR
        GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    expected = dict(short["units"])
    if short["excluded_multi_variant_units"]:
        expected["(several)"] = short["excluded_multi_variant_units"]
    assert dict(units) == expected
    assert "added up from the stored hourly statistics" in short["statistics"]
