"""`postlaunch funnel` against an independent Polars implementation on the demo lake.

The Rust side scans each user's events in a loop (src/funnel/scan.rs, run by the DataFusion
aggregate funnel_scan). Here the same semantics (ordered mode, docs/FUNNELS.md) are rebuilt from
the raw Parquet files with as-of joins: every step-1 event is an attempt; step k of an attempt is
the first step-k event at or after the attempt's step k-1, if it falls within the window from the
attempt's start; attempts with an exclusion event strictly between their first and last reached
step are dropped (an anti-join); a user counts at the furthest step of any attempt (ties: the
earliest attempt). Per-step users, drop-off, the median and p90 time from the previous step
(NumPy's linear quantiles) and the dropped-user sample (the 10 smallest ids) must match exactly.
The `experiment:checkout_redesign` breakdown must show treatment converting better than control
at begin_checkout -> purchase (the demo's built-in effect). Strict and any-order modes are
covered by the hand-built fixtures only (tests/it/funnels.rs, src/funnel/scan.rs).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from conftest import _run

REPO = Path(__file__).resolve().parents[2]
FUNNELS = REPO / "pipelines" / "funnels.toml"


def _funnel(lake: Path, *args: str, funnels: Path = FUNNELS) -> list[dict[str, Any]]:
    proc = _run(
        ["funnel", "-q", "--lake", str(lake), "--funnels", str(funnels), "--format", "json", *args],
        300,
    )
    return json.loads(proc.stdout)


def _config(name: str) -> dict[str, Any]:
    with FUNNELS.open("rb") as f:
        for funnel in tomllib.load(f)["funnel"]:
            if funnel["name"] == name:
                return funnel
    raise KeyError(name)


def _window_us(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(text[:-1]) * units[text[-1]] * 1_000_000


def _events(lake: Path) -> pl.DataFrame:
    df = pl.read_parquet(str(lake / "events" / "**" / "*.parquet"), hive_partitioning=False)
    return df.select(
        pl.coalesce("user_id", "anonymous_id").alias("uid"),
        pl.col("ts").dt.epoch("us").alias("t"),
        "event",
    ).drop_nulls(["uid", "t"])


def _variants(lake: Path, experiment: str) -> pl.DataFrame:
    x = pl.read_parquet(str(lake / "exposures" / "**" / "*.parquet"), hive_partitioning=False)
    return (
        x.filter(pl.col("experiment") == experiment)
        .sort(["user_id", "ts", "variant"])
        .group_by("user_id")
        .agg(pl.col("variant").first())
        .rename({"user_id": "uid"})
    )


def _best_attempts(
    events: pl.DataFrame, steps: list[str], window: int, exclude: list[str] | None = None
) -> pl.DataFrame:
    """One row per user: `reached` and `t0..t{n-1}` of the best attempt. Attempts with an
    `exclude` event strictly between their first and last reached step are dropped first."""
    att = (
        events.filter(pl.col("event") == steps[0])
        .select("uid", pl.col("t").alias("t0"))
        .sort("t0")
        .with_columns(pl.lit(1).alias("reached"))
    )
    for k, step in enumerate(steps[1:], start=1):
        right = (
            events.filter(pl.col("event") == step)
            .select("uid", pl.col("t").alias(f"t{k}"))
            .sort(f"t{k}")
        )
        att = att.with_columns(pl.col(f"t{k-1}").alias("_key")).sort("_key")
        att = att.join_asof(
            right,
            left_on="_key",
            right_on=f"t{k}",
            by="uid",
            strategy="forward",
            check_sortedness=False,
        ).drop("_key")
        ok = pl.col(f"t{k}").is_not_null() & (pl.col(f"t{k}") <= pl.col("t0") + window)
        ok = ok & pl.col(f"t{k-1}").is_not_null()
        att = att.with_columns(pl.when(ok).then(pl.col(f"t{k}")).otherwise(None).alias(f"t{k}"))
        att = att.with_columns((pl.col("reached") + ok.cast(pl.Int32)).alias("reached"))
    if exclude:
        last = pl.coalesce([pl.col(f"t{k}") for k in reversed(range(len(steps)))])
        att = att.with_row_index("attempt").with_columns(last.alias("t_last"))
        ex = events.filter(pl.col("event").is_in(exclude)).select("uid", pl.col("t").alias("tx"))
        voided = (
            att.join(ex, on="uid")
            .filter((pl.col("tx") > pl.col("t0")) & (pl.col("tx") < pl.col("t_last")))
            .select("attempt")
            .unique()
        )
        att = att.join(voided, on="attempt", how="anti").drop("attempt", "t_last")
    return (
        att.sort(["uid", "reached", "t0"], descending=[False, True, False])
        .group_by("uid", maintain_order=True)
        .first()
    )


def _expected(best: pl.DataFrame, steps: list[str]) -> list[dict[str, Any]]:
    rows = []
    for k in range(len(steps)):
        reached = best.filter(pl.col("reached") > k)
        row: dict[str, Any] = {"step": k + 1, "users": reached.height}
        if k > 0:
            secs = ((reached[f"t{k}"] - reached[f"t{k-1}"]) / 1e6).to_numpy()
            row["median"] = float(np.quantile(secs, 0.5)) if len(secs) else None
            row["p90"] = float(np.quantile(secs, 0.9)) if len(secs) else None
            dropped = best.filter(pl.col("reached") == k)["uid"].sort().to_list()
            row["dropped"] = len(dropped)
            row["sample"] = ",".join(dropped[:10])
        rows.append(row)
    return rows


def _compare(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [r["users"] for r in got] == [w["users"] for w in want]
    for g, w in zip(got[1:], want[1:]):
        assert g["dropped"] == w["dropped"], g
        assert g["dropped_sample"] == w["sample"], g
        assert g.get("median_secs_from_previous") == pytest.approx(w["median"], abs=1e-6)
        assert g.get("p90_secs_from_previous") == pytest.approx(w["p90"], abs=1e-6)


def test_checkout_funnel_matches_polars(demo_lake: Path) -> None:
    cfg = _config("checkout")
    steps = [s["event"] for s in cfg["step"]]
    best = _best_attempts(_events(demo_lake), steps, _window_us(cfg.get("window", "14d")))
    want = _expected(best, steps)
    assert want[-1]["users"] > 0, "the demo should have purchases"
    got = _funnel(demo_lake, "checkout", "--breakdown", "none", "--at", "2026-11-16")
    _compare(got, want)
    # Right after the demo ends (--at), its last entries have an open 14-day window.
    assert all(r["incomplete"] for r in got)


def test_experiment_breakdown_matches_polars_and_shows_the_effect(demo_lake: Path) -> None:
    cfg = _config("checkout_experiment")
    steps = [s["event"] for s in cfg["step"]]
    best = _best_attempts(_events(demo_lake), steps, _window_us(cfg["window"]))
    best = best.join(_variants(demo_lake, "checkout_redesign"), on="uid", how="left")
    got = _funnel(demo_lake, "checkout_experiment")
    conv = {}
    for variant in ["control", "treatment"]:
        rows = [r for r in got if r.get("breakdown") == variant]
        _compare(rows, _expected(best.filter(pl.col("variant") == variant), steps))
        conv[variant] = rows[-1]["conversion_from_previous"]
    rows = [r for r in got if r.get("breakdown") is None]
    _compare(rows, _expected(best.filter(pl.col("variant").is_null()), steps))
    assert conv["treatment"] > conv["control"], conv


def test_exclusions_match_polars(demo_lake: Path, tmp_path: Path) -> None:
    """A funnel with exclusions that often fall inside attempts (a recommendation click or a
    wishlist add between viewing an item and buying it voids the attempt) and a short window, so
    that voiding, re-entry and expiry all happen on the demo data."""
    funnels = tmp_path / "funnels.toml"
    funnels.write_text(
        '[[funnel]]\nname = "excl"\nwindow = "2h"\n'
        'exclude = ["recommendation_click", "wishlist_add"]\n'
        '[[funnel.step]]\nevent = "view_item"\n'
        '[[funnel.step]]\nevent = "add_to_cart"\n'
        '[[funnel.step]]\nevent = "purchase"\n'
    )
    steps = ["view_item", "add_to_cart", "purchase"]
    exclude = ["recommendation_click", "wishlist_add"]
    events = _events(demo_lake)
    want = _expected(_best_attempts(events, steps, _window_us("2h"), exclude), steps)
    plain = _expected(_best_attempts(events, steps, _window_us("2h")), steps)
    assert [w["users"] for w in want] != [p["users"] for p in plain], "nothing was voided"
    _compare(_funnel(demo_lake, "excl", funnels=funnels), want)
