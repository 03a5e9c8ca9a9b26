# %% [markdown]
# # Launch overview (Polars)
#
# A first look at a postlaunch lake with Polars: traffic, latency and errors per service, the
# purchase funnel, and what was rejected. The file is a notebook in the "percent" format: open it
# in VS Code or JupyterLab (with jupytext) and run it cell by cell, or run it as a script:
#
#     POSTLAUNCH_LAKE=./lake target/py/bin/python notebooks/launch_overview.py
#
# The tests run it against the demo lake (tests/python/test_notebooks.py).

# %%
import os
from pathlib import Path

import polars as pl

LAKE = Path(os.environ.get("POSTLAUNCH_LAKE", "lake"))


def table(name: str) -> pl.LazyFrame:
    """A lake table as a lazy frame, with the `date`/`hour` partition columns."""
    return pl.scan_parquet(LAKE / name / "**" / "*.parquet", hive_partitioning=True)


# %% [markdown]
# ## Requests per service: volume, p95 latency, error rate

# %%
per_service = (
    table("requests")
    .group_by("service")
    .agg(
        pl.len().alias("requests"),
        pl.col("duration_ms").quantile(0.95, interpolation="linear").alias("p95_ms"),
        (pl.col("status") >= 500).mean().alias("error_rate"),
    )
    .sort("p95_ms", descending=True)
    .collect()
)
print(per_service)

# %% [markdown]
# ## Daily p95 of checkout: the regressing deployment shows as a step

# %%
checkout_daily = (
    table("requests")
    .filter(pl.col("service") == "checkout")
    .group_by("date")
    .agg(pl.col("duration_ms").quantile(0.95, interpolation="linear").alias("p95_ms"))
    .sort("date")
    .collect()
)
print(checkout_daily)
print(table("deployments").filter(pl.col("phase") != "started").select("ts", "service", "version", "phase").sort("ts").collect())

# %% [markdown]
# ## Purchase funnel (users reaching each step, any order, whole period)

# %%
steps = ["visit", "view_item", "add_to_cart", "begin_checkout", "purchase"]
reached = (
    table("events")
    .filter(pl.col("event").is_in(steps) & pl.col("user_id").is_not_null())
    .group_by("event")
    .agg(pl.col("user_id").n_unique().alias("users"))
    .collect()
)
funnel = pl.DataFrame({"event": steps}).join(reached, on="event", how="left").fill_null(0)
print(funnel.with_columns((pl.col("users") / pl.col("users").first()).alias("share_of_visitors")))

# %% [markdown]
# ## Revenue by a key of `properties` (JSON text)

# %%
print(
    table("events")
    .filter(pl.col("event") == "purchase")
    .with_columns(pl.col("properties").str.json_path_match("$.currency").alias("currency"))
    .group_by("currency")
    .agg(pl.len().alias("purchases"), pl.col("revenue").sum())
    .collect()
)

# %% [markdown]
# ## What was rejected, and why

# %%
print(table("_rejected").group_by("target_table", "reason").len().sort("len", descending=True).collect())
