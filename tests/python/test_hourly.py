"""The hourly job (`postlaunch hourly`) against independent oracles.

Fixtures are NDJSON events written here with numpy, ingested with `postlaunch ingest`, computed
with `postlaunch hourly`, and the stored `hourly_*` / `daily_*` Parquet is read back with pyarrow.
Every expected value is computed here with numpy from the same events; the numpy call is written
next to each comparison. Tolerances are explicit: DataFusion's `percentile_cont` quantises the
interpolation weight to 1e-6, so exact percentiles get rtol 1e-6; DDSketch roll-ups are within
the sketch's relative accuracy alpha = 0.01 of numpy's "lower" rank.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from conftest import _run, pl_sql

HOUR = "2026-11-10T14"
HOUR_TS = "2026-11-10T14:{m:02d}:{s:02d}Z"


def ingest(lake: Path, table: str, rows: list[dict]) -> None:
    path = lake.parent / f"{table}-{len(list(lake.parent.glob('*.ndjson')))}.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _run(["ingest", "-q", "--lake", str(lake), "--table", table, str(path)], 300)


def read(lake: Path, table: str) -> list[dict]:
    return ds.dataset(lake / table, format="parquet", partitioning="hive").to_table().to_pylist()


def ts(i: int, hour: str = HOUR) -> str:
    return f"{hour}:{(i // 60) % 60:02d}:{i % 60:02d}Z"


@pytest.fixture(scope="module")
def service_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Two endpoints, lognormal latencies, 3 % 5xx, two versions; one hour."""
    root = tmp_path_factory.mktemp("hourly")
    lake = root / "lake"
    rng = np.random.default_rng(20261110)
    rows, truth = [], {}
    for endpoint, n, mu in (("GET /a", 1500, 4.5), ("POST /b", 737, 5.5)):
        dur = np.round(rng.lognormal(mu, 0.6, n), 3)
        status = np.where(rng.random(n) < 0.03, 503, 200)
        version = np.where(rng.random(n) < 0.3, "1.1.0", "1.0.0")
        truth[endpoint] = (dur, status, version)
        for i in range(n):
            rows.append({"ts": ts(i * 3600 // n), "service": "svc", "endpoint": endpoint,
                         "status": int(status[i]), "duration_ms": float(dur[i]),
                         "version": str(version[i])})
    ingest(lake, "requests", rows)
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)
    return lake, truth


def test_service_metrics_match_numpy(service_lake: tuple[Path, dict]) -> None:
    lake, truth = service_lake
    got = {(r["endpoint"], r["version"]): r for r in read(lake, "hourly_service_metrics")}
    t_ms = 500.0  # the default apdex T
    for endpoint, (dur, status, version) in truth.items():
        for v in ("*", "1.0.0", "1.1.0"):
            sel = np.ones(len(dur), bool) if v == "*" else version == v
            d, s = dur[sel], status[sel]
            row = got[(endpoint, v)]
            assert row["requests"] == len(d)
            assert row["errors"] == int((s >= 500).sum())
            assert row["error_rate"] == pytest.approx((s >= 500).mean(), rel=1e-12)
            assert row["throughput_rps"] == pytest.approx(len(d) / 3600, rel=1e-12)
            for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
                # numpy.quantile(d, q) -- method="linear", numpy's default
                assert row[col] == pytest.approx(np.quantile(d, q), rel=1e-6), (endpoint, v, col)
            assert row["max_ms"] == pytest.approx(d.max(), rel=1e-12)
            ok = s < 500
            satisfied = (ok & (d <= t_ms)).sum()
            tolerating = (ok & (d > t_ms) & (d <= 4 * t_ms)).sum()
            # Apdex = (satisfied + tolerating / 2) / total, 5xx frustrated
            assert row["apdex"] == pytest.approx((satisfied + tolerating / 2) / len(d), rel=1e-12)


def test_daily_rollup_percentiles_come_from_sketches_within_alpha(
    service_lake: tuple[Path, dict],
) -> None:
    lake, truth = service_lake
    got = {(r["endpoint"], r["version"]): r for r in read(lake, "daily_service_metrics")}
    for endpoint, (dur, status, _) in truth.items():
        row = got[(endpoint, "*")]
        assert row["requests"] == len(dur)
        assert row["errors"] == int((status >= 500).sum())
        for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
            # numpy.quantile(dur, q, method="lower"): the sketch's rank rule; alpha = 0.01
            exact = np.quantile(dur, q, method="lower")
            assert abs(row[col] - exact) <= 0.01 * exact * (1 + 1e-9), (endpoint, col)


def test_rerunning_an_hour_replaces_it(service_lake: tuple[Path, dict]) -> None:
    lake, truth = service_lake
    before = len(read(lake, "hourly_service_metrics"))
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)
    assert len(read(lake, "hourly_service_metrics")) == before
    n = sum(len(d) for d, _, _ in truth.values())
    rows = pl_sql(lake, "SELECT sum(requests) AS n FROM hourly_service_metrics WHERE version = '*'")
    assert rows[0]["n"] == n


def test_late_events_make_the_hour_stale_and_the_next_run_recomputes_it(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    base = {"service": "s", "endpoint": "GET /", "status": 200, "duration_ms": 10.0}
    ingest(lake, "requests", [{**base, "ts": ts(i)} for i in range(100)])
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)
    # 7 late events for 14:00 arrive while 15:00 is computed
    ingest(lake, "requests", [{**base, "ts": ts(i)} for i in range(200, 207)])
    ingest(lake, "requests", [{**base, "ts": ts(i, "2026-11-10T15")} for i in range(3)])
    proc = _run(["hourly", "--lake", str(lake), "--hour", "2026-11-10T15"], 600)
    assert "1 recomputed for late data" in proc.stderr, proc.stderr
    rows = pl_sql(lake, "SELECT hour, requests FROM hourly_service_metrics WHERE version = '*' ORDER BY hour")
    assert [(r["hour"], r["requests"]) for r in rows] == [("14", 107), ("15", 3)]


# Google's thresholds: (good upper bound, poor lower bound); a value equal to a threshold takes
# the better rating.
THRESHOLDS = {"LCP": (2500, 4000), "INP": (200, 500), "CLS": (0.1, 0.25), "FCP": (1800, 3000),
              "TTFB": (800, 1800), "FID": (100, 300)}


def test_web_vitals_boundaries_value_by_value(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    rows, expected = [], {}
    for k, (vital, (good, poor)) in enumerate(THRESHOLDS.items()):
        eps = 0.001 if vital == "CLS" else 1
        cases = [(good - eps, "good"), (good, "good"), (good + eps, "ni"), (poor, "ni"),
                 (poor + eps, "poor")]
        for j, (value, rating) in enumerate(cases):
            page = f"/{vital}/{j}"
            rows.append({"ts": ts(k * 10 + j), "name": vital, "value": value, "page": page,
                         "device": "mobile"})
            expected[(page, vital)] = rating
    ingest(lake, "web_vitals", rows)
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)
    got = read(lake, "hourly_web_vitals")
    assert len(got) == len(expected)
    for r in got:
        rating = expected[(r["page"], r["vital"])]
        shares = {"good": r["good_share"], "ni": r["needs_improvement_share"], "poor": r["poor_share"]}
        assert shares[rating] == 1.0 and sum(shares.values()) == 1.0, (r["page"], r["vital"], shares)


def test_web_vitals_p75_and_shares_match_numpy(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    rng = np.random.default_rng(7)
    lcp = np.round(rng.lognormal(7.7, 0.5, 401), 1)
    ingest(lake, "web_vitals", [{"ts": ts(i), "name": "LCP", "value": float(v), "page": "/",
                                 "device": "desktop"} for i, v in enumerate(lcp)])
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)
    (row,) = read(lake, "hourly_web_vitals")
    assert row["samples"] == len(lcp)
    # numpy.quantile(lcp, 0.75), linear
    assert row["p75"] == pytest.approx(np.quantile(lcp, 0.75), rel=1e-6)
    assert row["good_share"] == pytest.approx((lcp <= 2500).mean(), rel=1e-12)
    assert row["poor_share"] == pytest.approx((lcp > 4000).mean(), rel=1e-12)


def test_host_database_dependency_and_business_metrics_match_numpy(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    rng = np.random.default_rng(11)
    cpu = rng.uniform(0.1, 0.9, 60)
    qms = rng.lognormal(2, 0.5, 120)
    in_use = rng.integers(1, 50, 60)
    hits, misses = rng.integers(0, 100, 60), rng.integers(0, 10, 60)
    rows = []
    for i in range(60):
        t = ts(i * 60)
        rows += [
            {"ts": t, "name": "cpu_utilization", "value": float(cpu[i]), "host": "h1", "service": "db"},
            {"ts": t, "name": "disk_read_bytes", "value": 1000.0 + i, "host": "h1", "service": "db"},
            {"ts": t, "name": "db_pool_in_use", "value": float(in_use[i]), "host": "h1", "service": "db"},
            {"ts": t, "name": "db_pool_size", "value": 50.0, "host": "h1", "service": "db"},
            {"ts": t, "name": "cache_hits", "value": float(hits[i]), "service": "db"},
            {"ts": t, "name": "cache_misses", "value": float(misses[i]), "service": "db"},
        ]
    dep = rng.lognormal(5, 0.7, 90)
    for i in range(90):
        rows.append({"ts": ts(i * 40), "name": "dependency_latency_ms", "value": float(dep[i]),
                     "service": "api", "labels": {"dependency": "stripe"}})
    for i in range(6):
        rows.append({"ts": ts(i * 500), "name": "dependency_errors", "value": float(i),
                     "service": "api", "labels": {"dependency": "stripe"}})
    for i in range(120):
        rows.append({"ts": ts(i * 30), "name": "db_query_ms", "value": float(qms[i]), "service": "db",
                     "labels": {"query": "q1" if i % 2 else "q2"}})
    ingest(lake, "metrics", rows)
    users = [f"u{i % 40}" for i in range(200)]
    events = [{"ts": ts(i * 18), "event": "purchase" if i % 25 == 0 else "view_item",
               "user_id": users[i], "session_id": f"s{i % 55}",
               **({"revenue": 10.5} if i % 25 == 0 else {})} for i in range(200)]
    ingest(lake, "events", events)
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)

    (host,) = read(lake, "hourly_host_metrics")
    assert host["cpu_avg"] == pytest.approx(cpu.mean(), rel=1e-12)  # numpy.mean
    assert host["cpu_max"] == pytest.approx(cpu.max(), rel=1e-12)
    assert host["disk_read_bytes"] == pytest.approx(sum(1000.0 + i for i in range(60)), rel=1e-12)

    db = {r["query"]: r for r in read(lake, "hourly_database_metrics")}
    for q, sel in (("*", slice(None)), ("q1", slice(1, None, 2)), ("q2", slice(0, None, 2))):
        # numpy.quantile(qms[sel], 0.95), linear
        assert db[q]["query_p95_ms"] == pytest.approx(np.quantile(qms[sel], 0.95), rel=1e-6), q
    assert db["*"]["pool_utilization_avg"] == pytest.approx((in_use / 50).mean(), rel=1e-12)
    assert db["*"]["pool_utilization_max"] == pytest.approx((in_use / 50).max(), rel=1e-12)

    (stripe,) = [r for r in read(lake, "hourly_dependency_metrics") if r["kind"] == "dependency"]
    assert (stripe["service"], stripe["dependency"], stripe["samples"]) == ("api", "stripe", 90)
    # numpy.quantile(dep, 0.95), linear
    assert stripe["latency_p95_ms"] == pytest.approx(np.quantile(dep, 0.95), rel=1e-6)
    assert stripe["errors"] == pytest.approx(0 + 1 + 2 + 3 + 4 + 5, rel=1e-12)
    (cache,) = [r for r in read(lake, "hourly_dependency_metrics") if r["kind"] == "cache"]
    assert cache["cache_hit_ratio"] == pytest.approx(hits.sum() / (hits.sum() + misses.sum()), rel=1e-12)

    (biz,) = read(lake, "hourly_business_metrics")
    buyers = {users[i] for i in range(200) if i % 25 == 0}
    assert biz["active_users"] == 40 and biz["sessions"] == 55
    assert biz["purchasing_users"] == len(buyers)
    assert biz["conversion_rate"] == pytest.approx(len(buyers) / 40, rel=1e-12)
    assert biz["revenue"] == pytest.approx(10.5 * 8, rel=1e-12)
    adoption = {r["event"]: r for r in read(lake, "hourly_feature_adoption")}
    assert adoption["purchase"]["adoption"] == pytest.approx(len(buyers) / 40, rel=1e-12)


def _regression_lake(tmp_path: Path, factor: float) -> Path:
    """Same hour of the week one week apart; the later week's latencies scaled by `factor`."""
    lake = tmp_path / "lake"
    rng = np.random.default_rng(3)
    rows = []
    for hour, f in (("2026-11-03T14", 1.0), (HOUR, factor)):
        dur = rng.lognormal(5, 0.4, 1200) * f
        rows += [{"ts": ts(i * 3, hour), "service": "checkout", "endpoint": "POST /pay",
                  "status": 200, "duration_ms": float(d), "version": "2.4.0"}
                 for i, d in enumerate(dur)]
    ingest(lake, "requests", rows)
    ingest(lake, "deployments", [{"ts": "2026-11-10T13:30:00Z", "service": "checkout",
                                  "version": "2.4.0", "strategy": "canary", "phase": "completed"}])
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        '[kafka]\nbrokers = "127.0.0.1:1"\ngroup_id = "g"\n[[topics]]\ntopic = "r"\ntable = "requests"\n'
        '[hourly.baseline]\nkind = "same_hour_of_week"\nweeks = 1\n'
    )
    _run(["hourly", "-q", "--lake", str(lake), "--pipeline", str(pipeline), "--hour", "2026-11-03T14"], 600)
    _run(["hourly", "-q", "--lake", str(lake), "--pipeline", str(pipeline), "--hour", HOUR], 600)
    return lake


def test_a_regression_is_reported_with_its_deployment(tmp_path: Path) -> None:
    lake = _regression_lake(tmp_path, 1.5)
    rows = [r for r in read(lake, "hourly_regressions")]
    assert [(r["service"], r["endpoint"], r["metric"]) for r in rows] == [
        ("checkout", "POST /pay", "p95_ms")
    ]
    (r,) = rows
    header = (Path(__file__).resolve().parents[2] / "sql" / "hourly" / "regressions.sql").read_text()
    cols, inside = [], False
    for line in header.splitlines():  # the `-- Columns:` header, continued on `--   ` lines
        if line.startswith("-- Columns:"):
            inside, rest = True, line[len("-- Columns:"):]
        elif inside and line.startswith("--   "):
            rest = line[2:]
        else:
            inside = False
            continue
        cols += [c.strip() for c in rest.split(",") if c.strip()]
    assert [k for k in r if k not in ("date", "hour")] == cols
    assert r["ratio"] == pytest.approx(r["current_value"] / r["baseline_value"], rel=1e-12)
    assert 1.3 < r["ratio"] < 1.7
    assert r["deployment"] == "checkout@2.4.0" and r["baseline_samples"] == 1200


@pytest.mark.parametrize("baseline", [
    'kind = "launch"\nfrom = "2026-11-10T12:00:00Z"\nto = "2026-11-10T13:00:00Z"\n',
    # The deployment started at 13:30: its hour starts at 13:00, and the hour before it is 12:00.
    'kind = "pre_deployment"\nwindow = "1h"\n',
])
def test_launch_and_pre_deployment_baselines(tmp_path: Path, baseline: str) -> None:
    """The baseline hour 12:00 (durations lognormal(5, 0.4)) and the deployment hour 14:00 (the
    same x 1.5) of one day; 10:00 (x 3, outside either baseline) must not be compared: the
    ratio is about 1.5, not 0.5. Then a re-run with a baseline that finds no regression leaves
    the table with no files, and the lake stays queryable."""
    lake = tmp_path / "lake"
    rng = np.random.default_rng(5)
    rows = []
    for hour, f in (("2026-11-10T10", 3.0), ("2026-11-10T12", 1.0), (HOUR, 1.5)):
        rows += [{"ts": ts(i * 3, hour), "service": "checkout", "endpoint": "POST /pay",
                  "status": 200, "duration_ms": float(d) * f, "version": "2.4.0"}
                 for i, d in enumerate(rng.lognormal(5, 0.4, 1200))]
    ingest(lake, "requests", rows)
    ingest(lake, "deployments", [
        {"ts": "2026-11-10T13:30:00Z", "service": "checkout", "version": "2.4.0",
         "strategy": "canary", "phase": phase} for phase in ("started", "completed")
    ])
    pipeline = tmp_path / "p.toml"
    kafka = '[kafka]\nbrokers = "127.0.0.1:1"\ngroup_id = "g"\n[[topics]]\ntopic = "r"\ntable = "requests"\n'
    pipeline.write_text(f"{kafka}[hourly.baseline]\n{baseline}")
    hours = ["--from", "2026-11-10T10", "--to", "2026-11-10T15"]
    _run(["hourly", "-q", "--lake", str(lake), "--pipeline", str(pipeline), *hours], 600)
    # (The launch baseline also flags 10:00 itself, x 3 against 12:00.)
    rows = [r for r in read(lake, "hourly_regressions") if r["hour_start"].hour >= 12]
    assert [(r["hour_start"].hour, r["metric"], r["baseline_samples"]) for r in rows] == [
        (14, "p95_ms", 1200)
    ]
    assert 1.3 < rows[0]["ratio"] < 1.7, rows[0]
    assert rows[0]["deployment"] == "checkout@2.4.0"
    # The 10:00 hour (x 3) as the baseline: 14:00 is no regression, and the table is emptied.
    pipeline.write_text(
        f'{kafka}[hourly.baseline]\nkind = "launch"\n'
        'from = "2026-11-10T10:00:00Z"\nto = "2026-11-10T11:00:00Z"\n'
    )
    _run(["hourly", "-q", "--lake", str(lake), "--pipeline", str(pipeline), "--only", "regressions",
          *hours], 600)
    assert not list((lake / "hourly_regressions").rglob("*.parquet"))
    assert pl_sql(lake, "SELECT count(*) AS n FROM hourly_service_metrics")[0]["n"] == 6


def test_opportunities_list_the_regression_the_slow_endpoint_and_ticket_categories(
    tmp_path: Path,
) -> None:
    """The regression fixture (1200 requests per week) plus 3 'billing' tickets from 2 users and
    1 'login' ticket in 2026-W46: the opportunities of that week, reach counted by hand."""
    lake = _regression_lake(tmp_path, 1.5)
    ingest(lake, "feedback", [
        {"ts": ts(1), "source": "support_ticket", "category": "billing", "user_id": "u1"},
        {"ts": ts(2), "source": "support_ticket", "category": "billing", "user_id": "u1"},
        {"ts": ts(3), "source": "support_ticket", "category": "billing", "user_id": "u2"},
        {"ts": ts(4), "source": "support_ticket", "category": "login", "user_id": "u3"},
    ])
    proc = _run(["trends", "--lake", str(lake), "--week", "2026-W46", "--opportunities",
                 "--format", "json"], 600)
    got = {(r["kind"], r["subject"]): r for r in json.loads(proc.stdout)}
    reg = got[("regression", "checkout POST /pay p95_ms")]
    assert reg["reach"] == 1200 and reg["value"] > 1.2 and "checkout@2.4.0" in reg["detail"]
    assert got[("slow_endpoint", "checkout POST /pay")]["reach"] == 1200
    billing = got[("ticket_category", "billing")]
    assert (billing["reach"], billing["value"]) == (2, 3.0)
    assert got[("ticket_category", "login")]["reach"] == 1
    assert len(read(lake, "opportunities")) == len(got)


def test_no_change_gives_no_regression_rows(tmp_path: Path) -> None:
    lake = _regression_lake(tmp_path, 1.0)
    assert not (lake / "hourly_regressions").exists() or read(lake, "hourly_regressions") == []


def test_on_the_demo_only_the_regressing_deployment_shows_up(tmp_path: Path) -> None:
    """checkout@2.4.0 (completed 2026-11-10 14:25, p95 x1.3) against the same hours a week
    earlier, with the shipped pipelines/demo.toml settings; no other service is flagged."""
    lake = tmp_path / "lake"
    pipeline = str(Path(__file__).resolve().parents[2] / "pipelines" / "demo.toml")
    _run(["demo", "-q", "--lake", str(lake), "--days", "12"], 900)
    common = ["hourly", "-q", "--lake", str(lake), "--pipeline", pipeline, "--no-rollups",
              "--only", "service_metrics"]
    _run([*common, "--from", "2026-11-03T00", "--to", "2026-11-05T00"], 900)
    _run([*common, "--only", "regressions", "--from", "2026-11-10T00", "--to", "2026-11-12T00"], 900)
    rows = read(lake, "hourly_regressions")
    assert rows, "the regressing checkout deployment was not detected"
    assert {(r["service"], r["deployment"]) for r in rows} == {("checkout", "checkout@2.4.0")}
    assert all(r["metric"] == "p95_ms" and r["ratio"] > 1.2 for r in rows)
    first = min(r["hour_start"] for r in rows)
    assert first.isoformat() >= "2026-11-10T14:00:00", first


def test_the_daemon_catches_up_then_only_recomputes_hours_with_late_events(tmp_path: Path) -> None:
    """`postlaunch run --once`: every closed hour with data is computed once; a second pass does
    nothing; late events for a computed hour make the next pass recompute exactly that hour."""
    lake = tmp_path / "lake"
    base = {"service": "s", "endpoint": "GET /", "status": 200, "duration_ms": 10.0}
    ingest(lake, "requests", [{**base, "ts": ts(i, h)} for h in (HOUR, "2026-11-10T15") for i in range(50)])
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        f'lake = "{lake}"\n[kafka]\nbrokers = "127.0.0.1:1"\ngroup_id = "g"\n'
        '[[topics]]\ntopic = "r"\ntable = "requests"\n'
    )
    first = _run(["run", "--pipeline", str(pipeline), "--once"], 600)
    assert "2 hours computed (0 recomputed" in first.stderr, first.stderr
    again = _run(["run", "--pipeline", str(pipeline), "--once"], 600)
    assert "hours computed" not in again.stderr, again.stderr
    ingest(lake, "requests", [{**base, "ts": ts(i)} for i in range(100, 104)])
    late = _run(["run", "--pipeline", str(pipeline), "--once"], 600)
    assert "1 hours computed (1 recomputed for late data)" in late.stderr, late.stderr
    rows = pl_sql(lake, "SELECT hour, requests FROM hourly_service_metrics WHERE version = '*' ORDER BY hour")
    assert [(r["hour"], r["requests"]) for r in rows] == [("14", 54), ("15", 50)]


def test_abandonment_and_error_messages_by_hand(tmp_path: Path) -> None:
    """Four sessions, counted by hand: s1 converts (not abandoned); s2 and s3 end on
    add_to_cart (s3's events arrive out of order); s4 ends on search. Error messages: this
    week 3 x "card expired" and 1 x "timeout"; one week earlier 1 x "card expired"."""
    lake = tmp_path / "lake"
    ev = lambda i, e, s: {"ts": ts(i), "event": e, "user_id": "u" + s, "session_id": s}  # noqa: E731
    ingest(lake, "events", [
        ev(1, "visit", "s1"), ev(2, "add_to_cart", "s1"), ev(3, "purchase", "s1"),
        ev(4, "visit", "s2"), ev(5, "add_to_cart", "s2"),
        ev(9, "add_to_cart", "s3"), ev(6, "visit", "s3"), ev(7, "search", "s3"),
        ev(8, "search", "s4"),
    ])
    err = lambda i, m, hour=HOUR: {"ts": ts(i, hour), "service": "checkout", "endpoint": "POST /pay",  # noqa: E731
                                   "status": 502, "duration_ms": 5.0, "error_message": m}
    ingest(lake, "requests", [err(1, "card expired"), err(2, "card expired"), err(3, "card expired"),
                              err(4, "timeout"), err(5, "card expired", "2026-11-03T09")])
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)
    got = [(r["rank"], r["last_event"], r["sessions"], r["share"]) for r in
           sorted(read(lake, "daily_abandonment"), key=lambda r: r["rank"])]
    assert got == [(1, "add_to_cart", 2, 2 / 3), (2, "search", 1, 1 / 3)]
    msgs = {r["message"]: r for r in read(lake, "daily_error_messages")}
    assert set(msgs) == {"checkout: card expired", "checkout: timeout"}
    card = msgs["checkout: card expired"]
    assert (card["count"], card["previous_count"], card["change"]) == (3, 1, 2)
    assert card["relative_change"] == pytest.approx(2.0, rel=1e-12)
    timeout = msgs["checkout: timeout"]
    assert (timeout["count"], timeout["previous_count"], timeout["relative_change"]) == (1, 0, None)


def test_weekly_trends_against_hand_counts_and_scipy(tmp_path: Path) -> None:
    """Two ISO weeks (2026-W45 and W46), one busy hour each: requests and 5xx counts chosen by
    hand; `postlaunch trends` must report both weeks, the changes, and for the error rate the
    two-proportion z-test p-value (pooled; p = 2 * scipy.stats.norm.sf(|z|))."""
    from scipy.stats import norm

    lake = tmp_path / "lake"
    rows = []
    for hour, n, errors in (("2026-11-03T10", 400, 8), ("2026-11-10T10", 500, 25)):
        rows += [{"ts": ts(i * 7, hour), "service": "api", "endpoint": "GET /x",
                  "status": 500 if i < errors else 200, "duration_ms": 10.0 + i % 50}
                 for i in range(n)]
    ingest(lake, "requests", rows)
    for hour in ("2026-11-03T10", "2026-11-10T10"):
        _run(["hourly", "-q", "--lake", str(lake), "--hour", hour], 600)
    proc = _run(["trends", "--lake", str(lake), "--week", "2026-W46", "--format", "json"], 600)
    got = {(r["metric"], r["entity"]): r for r in json.loads(proc.stdout)}
    req = got[("requests_per_day", "api")]
    assert req["this_week"] == pytest.approx(500 / 7, rel=1e-12)
    assert req["last_week"] == pytest.approx(400 / 7, rel=1e-12)
    assert req["rel_change"] == pytest.approx(0.25, rel=1e-12)
    err = got[("error_rate", "api")]
    p1, p0 = 25 / 500, 8 / 400
    pooled = 33 / 900
    z = (p1 - p0) / np.sqrt(pooled * (1 - pooled) * (1 / 500 + 1 / 400))
    assert err["this_week"] == pytest.approx(p1, rel=1e-12)
    assert err["p_value"] == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    assert got[("p95_ms", "api")]["p_value"] is None
    # sorted by the size of the relative change: the error rate (+150 %) comes first
    assert json.loads(proc.stdout)[0]["metric"] == "error_rate"
    stored = read(lake, "weekly_trends")
    assert len(stored) == len(got)


def test_feedback_synthesis_by_hand(tmp_path: Path) -> None:
    """NPS from 10 answers (4 promoters, 3 passives, 3 detractors): 100 * (0.4 - 0.3) = 10, with
    the normal-approximation interval computed here with numpy; ratings 5,5,4,1 (average 3.75);
    tickets 'billing' x2 this week and x1 a week earlier; in-app text terms counted by hand."""
    lake = tmp_path / "lake"
    fb = lambda i, hour=HOUR, **kw: {"ts": ts(i, hour), **kw}  # noqa: E731
    scores = [10, 9, 9, 10, 7, 8, 7, 0, 6, 3]
    rows = [fb(i, source="nps", score=s) for i, s in enumerate(scores)]
    rows += [fb(20 + i, source="app_review", rating=r) for i, r in enumerate([5, 5, 4, 1])]
    rows += [fb(30, source="support_ticket", category="billing"),
             fb(31, source="support_ticket", category="billing"),
             fb(32, "2026-11-03T08", source="support_ticket", category="billing")]
    rows += [fb(40, source="in_app", category="performance", text="Checkout spins forever."),
             fb(41, source="in_app", category="performance", text="checkout is SLOW, so slow")]
    ingest(lake, "feedback", rows)
    _run(["hourly", "-q", "--lake", str(lake), "--hour", HOUR], 600)
    got = {(r["kind"], r["key"]): r for r in read(lake, "daily_feedback")}
    nps = got[("nps", "nps")]
    pp, pd, n = 0.4, 0.3, 10
    half = 1.959964 * 100 * np.sqrt((pp + pd - (pp - pd) ** 2) / n)  # normal approximation
    assert nps["count"] == n and nps["value"] == pytest.approx(10.0, rel=1e-12)
    assert (nps["ci_low"], nps["ci_high"]) == (pytest.approx(10 - half, rel=1e-12),
                                               pytest.approx(10 + half, rel=1e-12))
    assert got[("app_rating", "average")]["value"] == pytest.approx(3.75, rel=1e-12)
    assert got[("app_rating", "5")]["count"] == 2 and got[("app_rating", "5")]["value"] == 0.5
    billing = got[("ticket_category", "billing")]
    assert (billing["count"], billing["previous_count"], billing["change"]) == (2, 1, 1)
    assert got[("in_app_category", "performance")]["count"] == 2
    terms = {k: r["count"] for (kind, k), r in got.items() if kind == "in_app_term"}
    assert terms == {"checkout": 2, "slow": 2, "spins": 1, "forever": 1}


def test_monthly_review_compares_the_last_30_days_with_the_launch_per_day(tmp_path: Path) -> None:
    """Launch range 2026-11-02..09 (the demo pipeline's); 140 requests inside it, 60 more on
    2026-11-12. The 30 days to 2026-11-16 hold all 200 (the periods overlap: each side is
    computed on its own): 200 / 30 per day against 140 / 7."""
    lake = tmp_path / "lake"
    rows = [{"ts": ts(i, "2026-11-04T10"), "service": "api", "endpoint": "GET /x", "status": 200,
             "duration_ms": 10.0} for i in range(140)]
    rows += [{"ts": ts(i, "2026-11-12T10"), "service": "api", "endpoint": "GET /x", "status": 200,
              "duration_ms": 10.0} for i in range(60)]
    ingest(lake, "requests", rows)
    for hour in ("2026-11-04T10", "2026-11-12T10"):
        _run(["hourly", "-q", "--lake", str(lake), "--hour", hour], 600)
    pipeline = str(Path(__file__).resolve().parents[2] / "pipelines" / "demo.toml")
    proc = _run(["trends", "--lake", str(lake), "--monthly", "--pipeline", pipeline,
                 "--at", "2026-11-16T00:00:00Z", "--format", "json"], 600)
    got = {(r["metric"], r["entity"]): r for r in json.loads(proc.stdout)}
    req = got[("requests_per_day", "api")]
    assert req["last_30_days"] == pytest.approx(200 / 30, rel=1e-9)
    assert req["launch"] == pytest.approx(140 / 7, rel=1e-9)
    assert len(read(lake, "monthly_review")) == len(got)


def test_on_the_demo_the_regressing_week_shows_in_trends_and_nps_matches_the_answers(
    tmp_path: Path,
) -> None:
    """The demo's 2026-W46 holds checkout@2.4.0 (p95 x1.3 from 2026-11-10 14:25): its p95 must
    rise week over week by more than 15 %, and no other service's by more than 10 %. The weekly
    NPS must equal 100 * (promoters - detractors) / answers counted here from the raw
    feedback with pyarrow."""
    lake = tmp_path / "lake"
    _run(["demo", "-q", "--lake", str(lake)], 900)
    _run(["hourly", "-q", "--lake", str(lake), "--from", "2026-11-02T00", "--to", "2026-11-16T00",
          "--only", "service_metrics", "--only", "feedback"], 1800)
    funnels = str(Path(__file__).resolve().parents[2] / "pipelines" / "funnels.toml")
    proc = _run(["trends", "--lake", str(lake), "--week", "2026-W46", "--format", "json",
                 "--funnels", funnels, "--at", "2026-11-16T00:00:00Z"], 600)
    p95 = {r["entity"]: r["rel_change"] for r in json.loads(proc.stdout) if r["metric"] == "p95_ms"}
    conversions = {r["entity"] for r in json.loads(proc.stdout) if r["metric"] == "funnel_conversion"}
    kinds = {r["kind"] for r in read(lake, "opportunities")}
    assert {"funnel_drop_off", "ticket_category", "slow_endpoint"} <= kinds, kinds
    # analysed right after W46 (--at), its entries have not had their whole window yet
    assert conversions == {"checkout (incomplete)", "checkout_experiment (incomplete)"}
    assert p95["checkout"] > 0.15, p95
    assert all(v < 0.10 for k, v in p95.items() if k != "checkout"), p95
    fb = ds.dataset(lake / "feedback", format="parquet", partitioning="hive").to_table().to_pylist()
    week = [r["score"] for r in fb if r["source"] == "nps" and r["score"] is not None
            and "2026-11-09" <= r["ts"].strftime("%Y-%m-%d") < "2026-11-16"]
    expected = 100 * (sum(s >= 9 for s in week) - sum(s <= 6 for s in week)) / len(week)
    (nps,) = [r for r in read(lake, "weekly_feedback")
              if r["kind"] == "nps" and r["period_start"].strftime("%Y-%m-%d") == "2026-11-09"]
    assert nps["count"] == len(week)
    assert nps["value"] == pytest.approx(expected, rel=1e-12)
    assert nps["ci_low"] < expected < nps["ci_high"]
