"""`postlaunch backlog` (the RICE-ranked optimisation backlog) and `backlog publish` (its top as
GitHub issues) on the demo's two weeks, the issues sent to scripts/github-api.py, a local
stand-in that checks every request against GitHub's published REST contract and answers with
GitHub's status codes, headers and bodies (GitHub has no local edition)."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import duckdb
import pytest

from conftest import pl_sql, postlaunch_bin

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghp_s3cr3t-postlaunch-test-token"


def run(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(postlaunch_bin()), *args], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, f"postlaunch {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's two weeks with the hourly tables the candidate queries read, and the
    opportunities of W46 (`trends`)."""
    lake = tmp_path_factory.mktemp("backlog") / "lake"
    run("demo", "-q", "--lake", str(lake), "--days", "14", "--scale", "0.1")
    run("hourly", "-q", "--lake", str(lake), "--from", "2026-11-02T00", "--to", "2026-11-16T00",
        "--no-rollups", "--only", "service_metrics", "--only", "database_metrics",
        "--only", "dependency_metrics")
    run("trends", "-q", "--lake", str(lake), "--week", "2026-W46", "--funnels",
        str(ROOT / "pipelines" / "funnels.toml"), "--at", "2026-11-16T00:00:00Z")
    return lake


def fnv_id(kind: str, subject: str) -> str:
    """The candidate id, computed independently: FNV-1a 64 of kind, NUL, subject; the top 32 bits."""
    h = 0xCBF29CE484222325
    for b in kind.encode() + b"\0" + subject.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"BL-{h >> 32:08x}"


def backlog(lake: Path, period: str, *extra: str) -> list[dict]:
    out = run("backlog", "-q", "--lake", str(lake), "--period", period, "--format", "json",
              "--config", str(ROOT / "pipelines" / "backlog.toml"), *extra).stdout
    return json.loads(out)


def test_backlog_ranks_by_rice_with_measured_reach_stable_ids_and_movement(lake: Path, tmp_path: Path) -> None:
    w45 = backlog(lake, "2026-W45")
    rows = backlog(lake, "2026-W46")
    assert len(rows) >= 10
    kinds = {r["kind"] for r in rows}
    # from the SQL files and from the stored opportunities (trends)
    assert {"slow_endpoint", "error_message", "poor_web_vital", "abandonment", "funnel_drop_off"} <= kinds, kinds
    assert {r["category"] for r in rows} >= {"performance", "reliability", "user_experience"}
    for i, r in enumerate(rows):
        assert r["rank"] == i + 1
        assert r["id"] == fnv_id(r["kind"], r["subject"])
        assert r["rice"] == pytest.approx(r["reach"] * r["impact"] * r["confidence"] / r["effort"], rel=1e-12)
        assert r["impact"] in (0.25, 0.5, 1.0, 2.0, 3.0) and r["confidence"] in (0.5, 0.8, 1.0)
        assert r["impact_source"] and r["confidence_source"] and r["effort_source"] and r["query"]
    assert all(a["rice"] >= b["rice"] for a, b in zip(rows, rows[1:]))
    # movement: ids seen in W45 carry their W45 rank
    before = {r["id"]: r["rank"] for r in w45}
    assert any(r["previous_rank"] is not None for r in rows)
    for r in rows:
        assert r["previous_rank"] == before.get(r["id"]), r["subject"]

    # Reach of the slowest endpoint = users with a request slower than the target in W46, × 30/7,
    # counted by DuckDB from the raw requests.
    slow = next(r for r in rows if r["kind"] == "slow_endpoint" and "sql/backlog/endpoints.sql" in r["sources"])
    service, endpoint = slow["subject"].split(" ", 1)
    con = duckdb.connect()
    (users,) = con.execute(
        "SELECT count(DISTINCT user_id) FROM read_parquet(?, hive_partitioning = true) "
        "WHERE service = ? AND endpoint = ? AND duration_ms > 300 "
        "AND ts >= TIMESTAMPTZ '2026-11-09 00:00:00+00' AND ts < TIMESTAMPTZ '2026-11-16 00:00:00+00'",
        [str(lake / "requests" / "**" / "*.parquet"), service, endpoint]).fetchone()
    assert users > 0
    assert slow["reach"] == pytest.approx(users * 30 / 7, rel=1e-12)
    # its query reproduces the figures through `postlaunch sql`
    (again,) = pl_sql(lake, slow["query"])
    assert again["subject"] == slow["subject"] and again["reach"] == users

    # the stored table holds what was printed
    stored = pl_sql(lake, "SELECT id, rank, rice FROM optimization_backlog WHERE period = '2026-W46' ORDER BY rank")
    assert [(s["id"], s["rank"]) for s in stored] == [(r["id"], r["rank"]) for r in rows]

    # an override changes the factor, says so, and re-ranks
    target = rows[-1]
    cfg = tmp_path / "backlog.toml"
    cfg.write_text((ROOT / "pipelines" / "backlog.toml").read_text()
                   + f'\n[[candidate]]\nid = "{target["id"]}"\nreach = 1e9\nnote = "<b>board decision</b>"\n')
    over = json.loads(run("backlog", "-q", "--lake", str(lake), "--period", "2026-W46", "--format", "json",
                          "--no-write", "--config", str(cfg)).stdout)
    assert over[0]["id"] == target["id"] and over[0]["overridden"] == "reach"
    assert over[0]["reach"] == 1e9 and "backlog.toml" in over[0]["reach_source"]
    md = run("backlog", "-q", "--lake", str(lake), "--period", "2026-W46", "--format", "md", "--no-write",
             "--config", str(cfg)).stdout
    first_row = next(l for l in md.splitlines() if l.startswith("| 1 |"))
    assert f"`{target['id']}`" in first_row and "| 1000000000* |" in first_row, first_row
    assert "<b>" not in md


def test_backlog_usage_and_config_errors_name_the_value(lake: Path, tmp_path: Path) -> None:
    p = run("backlog", "--lake", str(lake), "--period", "2026-13", check=False)
    assert p.returncode == 64 and "`2026-13`" in p.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[effort]\nslow_endpointz = 1.0\n")
    p = run("backlog", "--lake", str(lake), "--period", "2026-W46", "--config", str(bad), check=False)
    assert p.returncode == 78 and "slow_endpointz" in p.stderr and "line 2" in p.stderr
    p = run("backlog", "publish", "--lake", str(lake), "--repo", "no-slash", check=False)
    assert p.returncode == 64 and "`no-slash`" in p.stderr
    # the token never travels over plain http to another host
    p = run("backlog", "publish", "--lake", str(lake), "--repo", "acme/shop", "--api-url",
            "http://localhost@example.com", env={"GITHUB_TOKEN": TOKEN}, check=False)
    assert p.returncode == 64 and "--api-url" in p.stderr and TOKEN not in p.stderr


class GitHub:
    """scripts/github-api.py on a free port, stopped by PID."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.log = tmp / "github.jsonl"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "github-api.py"), "--out", str(self.log),
             "--token", TOKEN, "--repo", "acme/shop", *args],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening "), line
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def requests(self) -> list[dict]:
        return [json.loads(l) for l in self.log.read_text().splitlines()] if self.log.exists() else []

    def patch(self, number: int, body: dict) -> None:
        req = urllib.request.Request(f"{self.url}/repos/acme/shop/issues/{number}", method="PATCH",
                                     data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {TOKEN}", "User-Agent": "test"})
        urllib.request.urlopen(req).read()

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


@pytest.fixture
def github(tmp_path: Path):
    servers = []

    def start(*args: str) -> GitHub:
        servers.append(GitHub(tmp_path, *args))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


def publish(lake: Path, gh: GitHub, *extra: str, token: str = TOKEN) -> subprocess.CompletedProcess:
    proc = run("backlog", "publish", "--lake", str(lake), "--period", "2026-W46", "--no-write",
               "--config", str(ROOT / "pipelines" / "backlog.toml"), "--repo", "acme/shop",
               "--api-url", gh.url, "--top", "3", *extra, env={"GITHUB_TOKEN": token}, check=False)
    assert token not in proc.stdout + proc.stderr
    if gh.log.exists():
        assert token not in gh.log.read_text()
    return proc


def test_publish_opens_the_top_issues_then_updates_them_and_respects_closed(lake: Path, github) -> None:
    gh = github("--filler", "3", "--page-cap", "2")
    top = backlog(lake, "2026-W46", "--no-write")[:3]
    first = publish(lake, gh)
    assert first.returncode == 0, first.stderr
    lines = [l.split("\t") for l in first.stdout.splitlines()]
    assert [(l[0], l[1]) for l in lines] == [(r["id"], "created") for r in top]
    posts = [r for r in gh.requests() if r["method"] == "POST"]
    assert len(posts) == 3
    for r, post in zip(top, posts):
        body = post["body"]
        assert post["status"] == 201 and post["api_version"] == "2022-11-28"
        assert f"<!-- postlaunch-backlog-id: {r['id']} -->" in body["body"]
        assert "### Reproduce" in body["body"] and "| Reach |" in body["body"]
        assert body["labels"][:2] == ["optimization", r["category"]]
        assert body["labels"][2].startswith("priority: ")
    assert all(r["authorization_present"] for r in gh.requests())

    # a label a person added survives the re-run
    number0 = int(lines[0][2].lstrip("#"))
    gh.patch(number0, {"labels": posts[0]["body"]["labels"] + ["team: payments"]})
    # a re-run updates the same issues (found by listing every page), opens none
    again = publish(lake, gh)
    assert again.returncode == 0, again.stderr
    assert [l.split("\t")[1] for l in again.stdout.splitlines()] == ["updated"] * 3
    reqs = gh.requests()
    assert len([r for r in reqs if r["method"] == "POST"]) == 3
    lists = [r for r in reqs if r["method"] == "GET"]
    assert any("page=2" in r["path"] for r in lists), [r["path"] for r in lists]  # Link rel="next" followed
    patches = [r for r in reqs if r["method"] == "PATCH" and r["path"].endswith(f"/issues/{number0}")]
    assert "team: payments" in patches[-1]["body"]["labels"] and "optimization" in patches[-1]["body"]["labels"]
    assert len([r for r in reqs if r["method"] == "PATCH" and r["authorization_present"]]) == 4  # 3 + the person's

    # closed by a person: left closed, unless --reopen
    number = int(lines[0][2].lstrip("#"))
    gh.patch(number, {"state": "closed", "state_reason": "completed"})
    third = publish(lake, gh)
    assert third.stdout.splitlines()[0].split("\t")[1] == "left closed"
    fourth = publish(lake, gh, "--reopen")
    assert fourth.stdout.splitlines()[0].split("\t")[1] == "reopened"
    assert any(r["method"] == "PATCH" and r["body"].get("state") == "open" and r["status"] == 200
               for r in gh.requests())


def test_publish_waits_out_secondary_and_primary_rate_limits(lake: Path, github) -> None:
    gh = github("--script", "secondary,429,ok,primary,500")
    p = publish(lake, gh)
    assert p.returncode == 0, p.stderr
    statuses = [r["status"] for r in gh.requests()]
    assert statuses[:5] == [403, 429, 200, 403, 500], statuses
    assert [l.split("\t")[1] for l in p.stdout.splitlines()] == ["created"] * 3
    assert p.stderr.count("rate limited") == 3 and "server error" in p.stderr
    # waited at least what GitHub asked: Retry-After 1 s twice, the reset ~2 s ahead
    t = [r["received_ms"] for r in gh.requests()]
    assert t[1] - t[0] >= 1000 and t[2] - t[1] >= 1000 and t[4] - t[3] >= 1000


def test_publish_errors_are_clear_and_never_show_the_token(lake: Path, github, tmp_path: Path) -> None:
    gh = github()
    bad = publish(lake, gh, token="ghp_wrong-token-value")
    assert bad.returncode == 78, bad.stderr
    assert "401" in bad.stderr and "GITHUB_TOKEN" in bad.stderr
    missing = run("backlog", "publish", "--lake", str(lake), "--period", "2026-W46", "--no-write",
                  "--repo", "acme/nope", "--api-url", gh.url, env={"GITHUB_TOKEN": TOKEN}, check=False)
    assert missing.returncode == 78 and "`acme/nope` was not found" in missing.stderr
    assert TOKEN not in missing.stderr + missing.stdout
    # no token: a dry run that prints the issues and sends nothing
    n = len(gh.requests())
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    dry = subprocess.run([str(postlaunch_bin()), "backlog", "publish", "--lake", str(lake), "--period",
                          "2026-W46", "--no-write", "--repo", "acme/shop", "--api-url", gh.url],
                         capture_output=True, text=True, env=env, timeout=600)
    assert dry.returncode == 0 and "GITHUB_TOKEN is not set" in dry.stderr
    assert dry.stdout.count("<!-- postlaunch-backlog-id: BL-") == 5
    assert len(gh.requests()) == n
