"""Mergeable percentiles: hourly DDSketches, stored as Parquet BINARY, merged into daily and
weekly percentiles, are within the sketch's relative accuracy of numpy's exact percentiles.

The data are a week of lognormal latencies (numpy, fixed seed) for two services, with an hourly
load and latency pattern so that hours differ. They are written as a Hive-partitioned Parquet
table in a lake; `postlaunch sql` builds one sketch per (service, date, hour), which this test
stores the way the hourly job does (pyarrow, a BINARY column, one file per hour), and then asks
`postlaunch sql` for `ddsketch_quantile(ddsketch_merge(sketch), q)` per day and per week.

The oracle uses the sketch's rank rule, the 0-based rank floor(q * (n - 1)) of the sorted values:

    numpy.quantile(x, q, method="lower")

and the guarantee is |estimate - exact| <= ALPHA * exact, ALPHA = 0.01 (the relative accuracy of
SQL `ddsketch(value)`), with 1e-9 relative slack for floating-point rounding at bucket edges.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import pl_sql

#: Relative accuracy of SQL `ddsketch(value)` (DEFAULT_ALPHA in src/query/sketch.rs).
ALPHA = 0.01

#: Slack for floating-point rounding at bucket boundaries.
ROUNDING = 1e-9

LEVELS: dict[str, float] = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}

#: Per service: median latency (ms) and log-scale sigma of the lognormal.
SERVICES: dict[str, tuple[float, float]] = {"api": (120.0, 0.6), "checkout": (300.0, 1.0)}

FIRST_DAY = date(2026, 11, 2)
DAYS = 7


def _hours() -> list[tuple[str, str]]:
    """The (date, hour) partitions of the week, as the lake spells them."""
    return [
        ((FIRST_DAY + timedelta(days=d)).isoformat(), f"{h:02d}")
        for d in range(DAYS)
        for h in range(24)
    ]


@pytest.fixture(scope="module")
def week(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[tuple[str, str, str], np.ndarray]]:
    """A lake with a `latency` table for a week, and the raw values per (service, date, hour)."""
    lake = tmp_path_factory.mktemp("sketch") / "lake"
    rng = np.random.default_rng(20261128)
    raw: dict[tuple[str, str, str], np.ndarray] = {}
    for day, hour in _hours():
        # A diurnal pattern: more and slower requests in the afternoon.
        load = 1.0 + 0.8 * np.sin(np.pi * int(hour) / 24.0)
        services, values = [], []
        for service, (median, sigma) in SERVICES.items():
            n = int(rng.integers(150, 400) * load)
            x = rng.lognormal(mean=np.log(median * load), sigma=sigma, size=n)
            raw[(service, day, hour)] = x
            services += [service] * n
            values.append(x)
        folder = lake / "latency" / f"date={day}" / f"hour={hour}"
        folder.mkdir(parents=True)
        table = pa.table(
            {"service": pa.array(services, pa.string()), "duration_ms": np.concatenate(values)}
        )
        pq.write_table(table, folder / "part-0.parquet")
    return lake, raw


@pytest.fixture(scope="module")
def hourly_sketches(week: tuple[Path, dict]) -> Path:
    """Hourly sketches from `postlaunch sql`, stored by pyarrow in `hourly_latency_sketch`."""
    lake, _ = week
    rows = pl_sql(
        lake,
        "SELECT service, date, hour, encode(ddsketch(duration_ms), 'hex') AS sketch_hex "
        "FROM latency GROUP BY service, date, hour",
    )
    assert len(rows) == len(SERVICES) * DAYS * 24
    for day, hour in _hours():
        here = [r for r in rows if r["date"] == day and r["hour"] == hour]
        folder = lake / "hourly_latency_sketch" / f"date={day}" / f"hour={hour}"
        folder.mkdir(parents=True)
        table = pa.table(
            {
                "service": pa.array([r["service"] for r in here], pa.string()),
                "sketch": pa.array([bytes.fromhex(r["sketch_hex"]) for r in here], pa.binary()),
            }
        )
        pq.write_table(table, folder / "part-0.parquet")
    return lake


def _merged_sql(group_by: str) -> str:
    """Percentiles from merged stored sketches, grouped by `group_by`."""
    s = "ddsketch_merge(sketch)"
    levels = ", ".join(f"ddsketch_quantile({s}, {q}) AS {name}" for name, q in LEVELS.items())
    return (
        f"SELECT {group_by}, ddsketch_count({s}) AS n, {levels} "
        f"FROM hourly_latency_sketch GROUP BY {group_by}"
    )


def _assert_within_alpha(row: dict, x: np.ndarray, what: str) -> None:
    assert row["n"] == x.size, f"{what}: ddsketch_count is exact"
    for name, q in LEVELS.items():
        exact = float(np.quantile(x, q, method="lower"))
        got = row[name]
        error = abs(got - exact) / exact
        assert abs(got - exact) <= ALPHA * exact * (1 + ROUNDING), (
            f"{what} {name}: sketch {got}, numpy {exact}, relative error {error:.5f}"
        )


def test_daily_percentiles_from_merged_hourly_sketches_are_within_alpha(
    week: tuple[Path, dict], hourly_sketches: Path
) -> None:
    _, raw = week
    rows = pl_sql(hourly_sketches, _merged_sql("service, date"))
    assert len(rows) == len(SERVICES) * DAYS
    for row in rows:
        x = np.concatenate(
            [v for (s, d, _), v in raw.items() if s == row["service"] and d == row["date"]]
        )
        _assert_within_alpha(row, x, f"{row['service']} {row['date']}")


def test_weekly_percentiles_from_merged_hourly_sketches_are_within_alpha(
    week: tuple[Path, dict], hourly_sketches: Path
) -> None:
    lake, raw = week
    rows = pl_sql(hourly_sketches, _merged_sql("service") + " ORDER BY service")
    assert [r["service"] for r in rows] == sorted(SERVICES)
    for row in rows:
        x = np.concatenate([v for (s, _, _), v in raw.items() if s == row["service"]])
        _assert_within_alpha(row, x, f"{row['service']} week")
    # Merging 168 hourly sketches answers exactly as one sketch over the week's raw rows would.
    direct = pl_sql(
        lake,
        "SELECT service, ddsketch_count(ddsketch(duration_ms)) AS n, "
        + ", ".join(
            f"ddsketch_quantile(ddsketch(duration_ms), {q}) AS {name}" for name, q in LEVELS.items()
        )
        + " FROM latency GROUP BY service ORDER BY service",
    )
    assert direct == rows

