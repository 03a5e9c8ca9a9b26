"""Interop: the Parquet lake `postlaunch` writes reads the same in pyarrow, DuckDB and Polars.

The lake is the product's boundary with every other tool (DESIGN: "files in the lake, never
in-memory handles"), so each table of a demo lake is read by three independent Parquet readers
and compared with what `postlaunch sql` says about it: row count, a per-table aggregate, the
time range, the column types promised by `schemas/*.schema.json`, the Hive partition values,
and JSON queries on `events.properties`.

Floats are compared with a relative tolerance of 1e-9 (summation order differs between engines),
never with `==`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from conftest import EXPECTED_TABLES, pl_sql, table_dirs

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"

#: Relative tolerance for every float comparison.
REL_TOL = 1e-9

#: Time zones that mean UTC in a Parquet/Arrow timestamp.
UTC_NAMES = frozenset({"UTC", "+00:00", "Etc/UTC", "Z"})


@dataclass(frozen=True)
class Aggregate:
    """One aggregate over one column, computed the same way by every reader (nulls ignored)."""

    kind: Literal["sum", "avg", "count_distinct"]
    column: str

    def sql(self) -> str:
        """The aggregate as SQL, valid in both DataFusion and DuckDB."""
        if self.kind == "count_distinct":
            return f'count(DISTINCT "{self.column}")'
        return f'{self.kind}("{self.column}")'

    def __str__(self) -> str:
        return self.sql()


#: Per table, aggregates over columns the demo fills, chosen to touch each column type.
AGGREGATES: dict[str, tuple[Aggregate, ...]] = {
    "requests": (Aggregate("sum", "duration_ms"), Aggregate("count_distinct", "service")),
    "metrics": (Aggregate("sum", "value"),),
    "web_vitals": (Aggregate("avg", "value"),),
    "events": (Aggregate("sum", "revenue"),),
    "exposures": (Aggregate("count_distinct", "user_id"),),
    "feedback": (Aggregate("avg", "score"),),
    "deployments": (Aggregate("count_distinct", "version"),),
    "incidents": (Aggregate("count_distinct", "status"),),
    "_rejected": (Aggregate("count_distinct", "target_table"),),
}


def time_column(table: str) -> str:
    """The timestamp column of `table`: `received_at` for `_rejected`, `ts` everywhere else."""
    return "received_at" if table == "_rejected" else "ts"


def assert_agrees(actual: Any, expected: Any, what: str) -> None:
    """Assert `actual` equals `expected`: exactly for integers, within `REL_TOL` for floats."""
    if actual is None or expected is None:
        assert actual is None and expected is None, (
            f"{what}: got {actual!r}, postlaunch says {expected!r}"
        )
    elif isinstance(actual, float) or isinstance(expected, float):
        assert math.isclose(float(actual), float(expected), rel_tol=REL_TOL, abs_tol=0.0), (
            f"{what}: got {actual!r}, postlaunch says {expected!r} (rel tol {REL_TOL})"
        )
    else:
        assert int(actual) == int(expected), f"{what}: got {actual!r}, postlaunch says {expected!r}"


# --- the three readers --------------------------------------------------------------------------


def sql_literal(text: str) -> str:
    """`text` as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def table_root(lake: Path, table: str) -> Path:
    """The folder of `table`, failing the test with a short message if the lake has none."""
    root = lake / table
    if not root.is_dir():
        pytest.fail(f"the demo lake has no `{table}` folder: `{root}` is missing", pytrace=False)
    return root


def duckdb_source(lake: Path, table: str) -> str:
    """A DuckDB table expression reading every Parquet file of `table` with Hive partitions."""
    glob = sql_literal(f"{table_root(lake, table)}/**/*.parquet")
    return f"read_parquet({glob}, hive_partitioning=true)"


def duckdb_one(query: str) -> tuple[Any, ...]:
    """Run `query` in a fresh in-memory DuckDB and return its single row."""
    with duckdb.connect() as con:
        row = con.execute(query).fetchone()
    assert row is not None, f"DuckDB returned no row for {query!r}"
    return row


def polars_scan(lake: Path, table: str) -> pl.LazyFrame:
    """A Polars lazy scan of every Parquet file of `table` with Hive partitions."""
    return pl.scan_parquet(f"{table_root(lake, table)}/**/*.parquet", hive_partitioning=True)


def arrow_dataset(lake: Path, table: str) -> ds.Dataset:
    """A pyarrow dataset of `table`; pyarrow skips `_log/` and `.tmp` files by their prefixes."""
    return ds.dataset(table_root(lake, table), format="parquet", partitioning="hive")


class Reader:
    """What each reader computes about a table; subclasses are one Parquet implementation each."""

    name = ""

    def row_count(self, lake: Path, table: str) -> int:
        """Number of rows of `table`."""
        raise NotImplementedError

    def aggregate(self, lake: Path, table: str, agg: Aggregate) -> Any:
        """Value of `agg` over `table`; None when the column has no non-null value."""
        raise NotImplementedError

    def time_range_us(self, lake: Path, table: str, column: str) -> tuple[int, int]:
        """Min and max of timestamp `column` in microseconds since the epoch."""
        raise NotImplementedError

    def time_type_ok(self, lake: Path, table: str, column: str) -> tuple[bool, str]:
        """Whether `column` reads as a UTC timestamp with microsecond unit, and the type seen."""
        raise NotImplementedError


class ArrowReader(Reader):
    """pyarrow.dataset with Hive partitioning."""

    name = "pyarrow"

    def row_count(self, lake: Path, table: str) -> int:
        return arrow_dataset(lake, table).count_rows()

    def aggregate(self, lake: Path, table: str, agg: Aggregate) -> Any:
        col = arrow_dataset(lake, table).to_table(columns=[agg.column]).column(agg.column)
        if agg.kind == "sum":
            return pc.sum(col).as_py()
        if agg.kind == "avg":
            return pc.mean(col).as_py()
        return pc.count_distinct(col, mode="only_valid").as_py()

    def time_range_us(self, lake: Path, table: str, column: str) -> tuple[int, int]:
        col = arrow_dataset(lake, table).to_table(columns=[column]).column(column)
        bounds = pc.min_max(col.cast(pa.timestamp("us", tz="UTC")))
        lo, hi = bounds["min"], bounds["max"]
        return (
            pc.cast(lo, pa.int64()).as_py(),
            pc.cast(hi, pa.int64()).as_py(),
        )

    def time_type_ok(self, lake: Path, table: str, column: str) -> tuple[bool, str]:
        typ = arrow_dataset(lake, table).schema.field(column).type
        ok = pa.types.is_timestamp(typ) and typ.unit == "us" and typ.tz in UTC_NAMES
        return ok, str(typ)


class DuckDbReader(Reader):
    """DuckDB `read_parquet('<table>/**/*.parquet', hive_partitioning=true)`."""

    name = "duckdb"

    def row_count(self, lake: Path, table: str) -> int:
        return duckdb_one(f"SELECT count(*) FROM {duckdb_source(lake, table)}")[0]

    def aggregate(self, lake: Path, table: str, agg: Aggregate) -> Any:
        return duckdb_one(f"SELECT {agg.sql()} FROM {duckdb_source(lake, table)}")[0]

    def time_range_us(self, lake: Path, table: str, column: str) -> tuple[int, int]:
        lo, hi = duckdb_one(
            f'SELECT epoch_us(min("{column}")), epoch_us(max("{column}")) '
            f"FROM {duckdb_source(lake, table)}"
        )
        return lo, hi

    def time_type_ok(self, lake: Path, table: str, column: str) -> tuple[bool, str]:
        # DuckDB keeps microseconds in TIMESTAMP WITH TIME ZONE, which it uses only for Parquet
        # timestamps marked isAdjustedToUTC; nanosecond ones would read as TIMESTAMP_NS.
        with duckdb.connect() as con:
            rel = con.sql(f'SELECT "{column}" FROM {duckdb_source(lake, table)}')
            typ = str(rel.types[0])
        return typ == "TIMESTAMP WITH TIME ZONE", typ


class PolarsReader(Reader):
    """Polars `scan_parquet('<table>/**/*.parquet', hive_partitioning=True)`."""

    name = "polars"

    def row_count(self, lake: Path, table: str) -> int:
        return polars_scan(lake, table).select(pl.len()).collect().item()

    def aggregate(self, lake: Path, table: str, agg: Aggregate) -> Any:
        col = pl.col(agg.column)
        if agg.kind == "count_distinct":
            # n_unique counts null as a value; SQL's count(DISTINCT) does not.
            expr = col.drop_nulls().n_unique()
        elif agg.kind == "sum":
            # Polars sums an all-null column to 0 where SQL gives NULL.
            expr = pl.when(col.count() > 0).then(col.sum())
        else:
            expr = col.mean()
        return polars_scan(lake, table).select(expr).collect().item()

    def time_range_us(self, lake: Path, table: str, column: str) -> tuple[int, int]:
        col = pl.col(column)
        frame = (
            polars_scan(lake, table)
            .select(col.min().dt.epoch("us").alias("lo"), col.max().dt.epoch("us").alias("hi"))
            .collect()
        )
        return frame["lo"].item(), frame["hi"].item()

    def time_type_ok(self, lake: Path, table: str, column: str) -> tuple[bool, str]:
        typ = polars_scan(lake, table).collect_schema()[column]
        ok = isinstance(typ, pl.Datetime) and typ.time_unit == "us" and typ.time_zone in UTC_NAMES
        return ok, str(typ)


READERS: tuple[Reader, ...] = (ArrowReader(), DuckDbReader(), PolarsReader())
by_reader = pytest.mark.parametrize("reader", READERS, ids=lambda r: r.name)


# --- what postlaunch says ----------------------------------------------------------------------


def quoted(table: str) -> str:
    """`table` as a quoted SQL identifier."""
    return f'"{table}"'


def pl_one(lake: Path, query: str) -> dict[str, Any]:
    """Run `query` with `postlaunch sql` and return its single row."""
    rows = pl_sql(lake, query)
    assert len(rows) == 1, f"expected one row from {query!r}, got {len(rows)}: {rows[:5]}"
    return rows[0]


_answers: dict[tuple[Path, str], dict[str, Any]] = {}


def postlaunch_says(lake: Path, query: str) -> dict[str, Any]:
    """`pl_one`, cached: the same question is asked once for the three readers."""
    key = (lake, query)
    if key not in _answers:
        _answers[key] = pl_one(lake, query)
    return _answers[key]


# --- the tests ---------------------------------------------------------------------------------


def test_demo_lake_has_the_expected_tables(demo_lake: Path) -> None:
    """`postlaunch demo` writes all nine tables (extra tables are tested too, not rejected)."""
    missing = EXPECTED_TABLES - set(table_dirs(demo_lake))
    assert not missing, f"tables missing from the demo lake `{demo_lake}`: {sorted(missing)}"


PARTITION_FILE = re.compile(r"date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/[^/]+\.parquet")


def test_table_layout(demo_lake: Path, table: str) -> None:
    """Every file is a Parquet file in `date=YYYY-MM-DD/hour=HH/` or a commit under `_log/`.

    A finished `postlaunch demo` must not leave `.<name>.parquet.tmp` files behind.
    """
    root = table_root(demo_lake, table)
    parquet, strays = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("_log/"):
            continue
        (parquet if PARTITION_FILE.fullmatch(rel) else strays).append(rel)
    assert parquet, f"`{root}` holds no `date=…/hour=…/*.parquet` file"
    assert not strays, f"unexpected files in `{root}` (leftover temp files?): {strays[:10]}"


@by_reader
def test_row_count_agrees(demo_lake: Path, table: str, reader: Reader) -> None:
    """Each reader counts as many rows as `postlaunch sql`, and the table is not empty."""
    expected = postlaunch_says(demo_lake, f"SELECT count(*) AS n FROM {quoted(table)}").get("n")
    assert isinstance(expected, int) and expected > 0, (
        f"`{table}` has {expected!r} rows in the demo lake; the agreement tests would be vacuous"
    )
    assert_agrees(reader.row_count(demo_lake, table), expected, f"{reader.name}: rows in `{table}`")


@by_reader
def test_aggregate_agrees(demo_lake: Path, table: str, reader: Reader) -> None:
    """Each reader computes the table's aggregates to the same value as `postlaunch sql`."""
    aggs = AGGREGATES.get(table)
    assert aggs, f"no aggregate chosen for table `{table}`; add one to AGGREGATES"
    for agg in aggs:
        query = f"SELECT {agg.sql()} AS v FROM {quoted(table)}"
        expected = postlaunch_says(demo_lake, query).get("v")
        assert expected is not None, f"`{agg}` over `{table}` is NULL; pick a column the demo fills"
        actual = reader.aggregate(demo_lake, table, agg)
        assert_agrees(actual, expected, f"{reader.name}: `{agg}` over `{table}`")


@by_reader
def test_time_range_agrees(demo_lake: Path, table: str, reader: Reader) -> None:
    """The earliest and latest timestamps match to the microsecond (no unit or zone mix-up)."""
    column = time_column(table)
    row = postlaunch_says(
        demo_lake,
        f'SELECT CAST(min("{column}") AS BIGINT) AS lo, CAST(max("{column}") AS BIGINT) AS hi '
        f"FROM {quoted(table)}",
    )
    lo, hi = reader.time_range_us(demo_lake, table, column)
    assert_agrees(lo, row.get("lo"), f"{reader.name}: min({column}) of `{table}` in µs")
    assert_agrees(hi, row.get("hi"), f"{reader.name}: max({column}) of `{table}` in µs")


@by_reader
def test_time_column_is_utc_microseconds(demo_lake: Path, table: str, reader: Reader) -> None:
    """`ts` (`received_at` in `_rejected`) reads as a UTC timestamp with microsecond unit."""
    column = time_column(table)
    ok, seen = reader.time_type_ok(demo_lake, table, column)
    assert ok, f"{reader.name}: `{table}.{column}` reads as {seen}, expected a UTC µs timestamp"


def test_partition_values_parse(demo_lake: Path, table: str) -> None:
    """Partition values are valid dates and hours 0–23, the same everywhere.

    `date` and `hour` are Utf8 in `postlaunch sql`, and match the folder names and what pyarrow's
    Hive partitioning sees.
    """
    root = table_root(demo_lake, table)
    rows = pl_sql(demo_lake, f'SELECT DISTINCT "date", "hour" FROM {quoted(table)}')
    assert rows, f"`{table}`: no partitions"
    seen: set[tuple[date, int]] = set()
    for row in rows:
        d, h = row["date"], row["hour"]
        assert isinstance(d, str) and isinstance(h, str), f"`{table}`: date/hour not strings: {row}"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", d), f"`{table}`: date {d!r} is not YYYY-MM-DD"
        assert re.fullmatch(r"\d{2}", h) and 0 <= int(h) <= 23, f"`{table}`: hour {h!r} not 00–23"
        seen.add((date.fromisoformat(d), int(h)))

    folders = {
        (date.fromisoformat(m[1]), int(m[2]))
        for p in root.glob("date=*/hour=*/*.parquet")
        if (m := PARTITION_FILE.fullmatch(p.relative_to(root).as_posix()))
    }
    assert seen == folders, (
        f"`{table}`: postlaunch sees {sorted(seen)}, folders are {sorted(folders)}"
    )

    parts = arrow_dataset(demo_lake, table).to_table(columns=["date", "hour"])
    arrow_seen = {
        (date.fromisoformat(str(d)), int(h))
        for d, h in zip(
            parts.column("date").to_pylist(), parts.column("hour").to_pylist(), strict=True
        )
    }
    assert arrow_seen == folders, f"`{table}`: pyarrow sees {sorted(arrow_seen)}"


def test_rows_sit_in_the_partition_of_their_hour(demo_lake: Path, table: str) -> None:
    """Each row's folder is the UTC hour of its timestamp, so filters on `date`/`hour` may prune.

    Checked in DuckDB, with the partition values typed there as DATE and INTEGER.
    """
    column = time_column(table)
    glob = sql_literal(f"{table_root(demo_lake, table)}/**/*.parquet")
    hour_us = 3_600_000_000
    misplaced, example = duckdb_one(
        f"""
        WITH t AS (
            SELECT epoch_us("{column}") // {hour_us} AS row_hour,
                   epoch_us(CAST("date" AS TIMESTAMP)) // {hour_us} + "hour" AS folder_hour,
                   "{column}" AS ts, "date", "hour"
            FROM read_parquet({glob}, hive_partitioning = true,
                              hive_types = {{'date': DATE, 'hour': INTEGER}})
        )
        SELECT count(*), any_value(format('{{}} in date={{}}/hour={{}}', ts, "date", "hour"))
        FROM t WHERE row_hour <> folder_hour
        """
    )
    assert misplaced == 0, f"`{table}`: {misplaced} rows outside their hour's folder: {example}"


def _schema_files() -> list[Path]:
    """The table schemas in `schemas/`, one test each."""
    return sorted(SCHEMAS.glob("*.schema.json"))


def is_text(typ: pa.DataType) -> bool:
    """Whether `typ` is one of Arrow's UTF-8 string types."""
    return pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ)


def _arrow_type_ok(name: str, spec: dict[str, Any], typ: pa.DataType) -> bool:
    """Whether Arrow type `typ` is what the lake should hold for JSON-schema property `spec`."""
    kinds = spec.get("type")
    if spec.get("format") == "date-time":
        return pa.types.is_timestamp(typ) and typ.unit == "us" and typ.tz in UTC_NAMES
    if kinds == "string":
        return is_text(typ)
    if kinds == "integer":
        return pa.types.is_integer(typ)
    if kinds == "number":
        return pa.types.is_floating(typ)
    if kinds == "object" and "additionalProperties" in spec:
        # `labels`: map<string, string>
        return pa.types.is_map(typ) and is_text(typ.key_type) and is_text(typ.item_type)
    if kinds == "object":
        # Free-form objects (`events.properties`) are kept verbatim as JSON text.
        return is_text(typ)
    raise AssertionError(f"test does not know JSON-schema type {kinds!r} of `{name}`")


@pytest.mark.parametrize("schema_file", _schema_files(), ids=lambda p: p.name.split(".")[0])
def test_columns_follow_schema(demo_lake: Path, schema_file: Path) -> None:
    """Each schema property is a column of the matching Arrow type, as pyarrow reads the lake."""
    schema = json.loads(schema_file.read_text())
    table = schema["title"]
    arrow_schema = arrow_dataset(demo_lake, table).schema
    wrong = []
    for name, spec in schema["properties"].items():
        idx = arrow_schema.get_field_index(name)
        if idx < 0:
            wrong.append(f"{name}: missing")
        elif not _arrow_type_ok(name, spec, arrow_schema.field(idx).type):
            wrong.append(f"{name}: {arrow_schema.field(idx).type} for {spec.get('type')}")
    assert not wrong, f"`{table}` columns differ from `{schema_file.name}`: {wrong}"


def test_rejected_columns(demo_lake: Path) -> None:
    """`_rejected` keeps when, where to, why, and the raw bytes of each malformed record."""
    arrow_schema = arrow_dataset(demo_lake, "_rejected").schema
    expected: dict[str, Callable[[pa.DataType], bool]] = {
        "received_at": pa.types.is_timestamp,
        "target_table": is_text,
        "reason": is_text,
        "payload": lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t),
    }
    for name, ok in expected.items():
        assert name in arrow_schema.names, f"`_rejected` has no `{name}` column: {arrow_schema}"
        assert ok(arrow_schema.field(name).type), (
            f"`_rejected.{name}` is {arrow_schema.field(name).type}"
        )


USD_PURCHASES = (
    "SELECT count(*) AS n FROM events WHERE json_get_str(properties, 'currency') = 'USD'"
)


def _duckdb_usd(lake: Path) -> int:
    return duckdb_one(
        f"SELECT count(*) FROM {duckdb_source(lake, 'events')} "
        "WHERE json_extract_string(properties, '$.currency') = 'USD'"
    )[0]


def _polars_usd(lake: Path) -> int:
    return (
        polars_scan(lake, "events")
        .filter(pl.col("properties").str.json_path_match("$.currency") == "USD")
        .select(pl.len())
        .collect()
        .item()
    )


@pytest.mark.parametrize("name, count_usd", [("duckdb", _duckdb_usd), ("polars", _polars_usd)])
def test_events_properties_json_agrees(
    demo_lake: Path, name: str, count_usd: Callable[[Path], int]
) -> None:
    """`events.properties` is JSON text that DuckDB's and Polars' JSON functions can query.

    They count as many events with `currency` = USD as postlaunch's `json_get_str`.
    """
    expected = postlaunch_says(demo_lake, USD_PURCHASES).get("n")
    assert isinstance(expected, int) and expected > 0, (
        f"{expected!r} events have properties.currency = 'USD'; the demo should emit some"
    )
    assert_agrees(count_usd(demo_lake), expected, f"{name}: events with currency USD")
