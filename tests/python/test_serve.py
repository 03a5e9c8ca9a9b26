"""`postlaunch serve`: every dashboard page of two weeks of demo data (with its hostile records)
loaded in a real headless Chromium — no console error, no failed or foreign request, no script
run and no element injected by an event's string — the drill-down followed by clicking its links
(service → endpoint → version), the figures shown checked against `postlaunch sql`, bad
parameters answered with 400/404 pages, the token required off loopback, and a page that shows
what was stored after the server started. Screenshots go to the test's temp dir.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from conftest import postlaunch_bin
from test_report import CHROMIUM_ARGS, chromium, no_injection, parse_strict, run, watch

ROOT = Path(__file__).resolve().parents[2]

#: The demo's hostile records (src/demo/scenario/hostile.rs).
SCRIPT = '<script>alert("postlaunch-xss")</script>'
IMG = '"><img src=x onerror=alert(1)>'

PAGES = ["/", "/application", "/infrastructure", "/database", "/dependencies", "/experience", "/business",
         "/changes", "/incidents"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("serve") / "lake"
    run("demo", "-q", "--lake", str(lake), "--days", "14", "--scale", "0.1")
    only = [a for t in ("service_metrics", "host_metrics", "database_metrics", "dependency_metrics", "web_vitals",
                        "business_metrics", "feature_adoption", "feedback") for a in ("--only", t)]
    run("hourly", "-q", "--lake", str(lake), "--all", *only)
    run("funnel", "-q", "--lake", str(lake), "--write-daily", "--funnels", str(ROOT / "pipelines" / "funnels.toml"))
    run("alerts", "replay", "-q", "--lake", str(lake), "--rules", str(ROOT / "pipelines" / "alerts.toml"), "--store",
        "--format", "csv")
    run("impact", "-q", "--lake", str(lake), "--deployment", "checkout@2.4.0", "--optimizations",
        str(ROOT / "pipelines" / "optimizations.toml"))
    run("incidents", "-q", "--lake", str(lake), "--at", "2026-11-17T00:00:00Z")
    return lake


class Server:
    def __init__(self, proc: subprocess.Popen[str], base: str) -> None:
        self.proc, self.base = proc, base

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], str]:
        req = urllib.request.Request(self.base + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def start(lake: Path, *args: str) -> Server:
    """`postlaunch serve` on a free port of 127.0.0.1; the address from its first line."""
    proc = subprocess.Popen([str(postlaunch_bin()), "serve", "--lake", str(lake), "--listen", "127.0.0.1:0",
                             "--rules", str(ROOT / "pipelines" / "alerts.toml"),
                             "--experiments", str(ROOT / "pipelines" / "experiments.toml"), *args],
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"on (http://127\.0\.0\.1:\d+)/", line)
    if not m:
        proc.kill()
        pytest.fail(f"serve did not start: {line}{proc.stderr.read()}")
    return Server(proc, m.group(1))


def stop(s: Server) -> None:
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=30) == 0, "Ctrl-C / SIGTERM stops it with exit 0"


@pytest.fixture(scope="module")
def server(lake: Path) -> Iterator[Server]:
    s = start(lake)
    yield s
    stop(s)


def sql(lake: Path, query: str) -> list[dict]:
    return json.loads(run("sql", "-q", "--lake", str(lake), "--format", "json", query))


def cells_of(html: str) -> list[list[str]]:
    """The rows of every table of a page, as texts."""
    doc = parse_strict(html)
    return [["".join(td.itertext()).strip() for td in tr.findall("td")] for tr in doc.findall(".//tr")
            if tr.findall("td")]


def number(text: str) -> float:
    """The first number of a cell: `2,725 ms (needs improvement)` → 2725, `+12.3 % [...]` → 12.3."""
    m = re.search(r"[-+]?[0-9][0-9,]*(\.[0-9]+)?([eE][-+]?[0-9]+)?", text)
    assert m, text
    return float(m.group(0).replace(",", ""))


# The range every check uses: the demo's second week (a custom range, as a pasted link has it).
WEEK = "range=custom&from=2026-11-09T00:00&to=2026-11-16T00:00"
FROM, TO = "TIMESTAMP '2026-11-09T00:00:00Z'", "TIMESTAMP '2026-11-16T00:00:00Z'"


def test_every_page_renders_in_chromium_with_no_error_foreign_request_or_injected_element(
        server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            for path in PAGES + ["/application?service=web", "/changes?deployment=checkout%402.4.0",
                                 "/changes?experiment=checkout_redesign", "/incidents?id=INC-2026-001"]:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                problems, requests = watch(page)
                response = page.goto(server.base + path + ("&" if "?" in path else "?") + WEEK)
                assert response is not None and response.status == 200, path
                page.wait_for_load_state("load")
                assert problems == [], (path, problems)
                assert all(u.startswith(server.base + "/") for u in requests), (path, requests)
                # the one script is ours; no event string became an element
                assert page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))") == ["/assets/dashboard.js"]
                assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0, path
                assert page.evaluate("document.querySelectorAll('main table').length") >= 1 or path.startswith("/changes?experiment"), path
                name = path.strip("/").replace("?", "-").replace("=", "-").replace("%40", "@") or "overview"
                page.screenshot(path=str(shots / f"{name}.png"), full_page=path == "/")
                page.close()
        finally:
            browser.close()
    print(f"screenshots in {shots}")


def test_drill_down_by_clicking_service_endpoint_version_matches_postlaunch_sql(
        server: Server, lake: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{server.base}/application?{WEEK}")
            page.get_by_role("link", name="checkout", exact=True).first.click()
            page.wait_for_load_state("load")
            assert "service=checkout" in page.url
            page.get_by_role("link", name="POST /api/checkout", exact=True).click()
            page.wait_for_load_state("load")
            page.get_by_role("link", name="2.4.0", exact=True).click()
            page.wait_for_load_state("load")
            url = page.url
            assert "service=checkout" in url and "endpoint=POST%20%2Fapi%2Fcheckout" in url and "version=2%2E4%2E0" in url, url
            # the range travelled with every click
            assert "from=2026%2D11%2D09T00%3A00" in url, url
            html = page.content()
            # every chart of the page marks checkout's deployments (2.4.0 finished in this week)
            assert page.evaluate("document.querySelectorAll('svg.chart g.marker').length") >= 1
            # a pasted link shows the same page
            again = browser.new_page()
            again.goto(url)
            assert again.inner_text("main") == page.inner_text("main")
        finally:
            browser.close()
    rows = cells_of(html)
    version_row = next(r for r in rows if r[0] == "2.4.0")
    expected = sql(lake, f"""
        SELECT sum(requests) AS requests, sum(errors) AS errors,
               CAST(sum(errors) AS DOUBLE) / sum(requests) AS error_rate
        FROM hourly_service_metrics
        WHERE service = 'checkout' AND endpoint = 'POST /api/checkout' AND version = '2.4.0'
          AND hour_start >= {FROM} AND hour_start < {TO}""")[0]
    assert number(version_row[1]) == expected["requests"], version_row
    assert number(version_row[3]) == expected["errors"], version_row
    # shown with 4 significant digits, as a percentage
    assert number(version_row[4]) / 100 == pytest.approx(expected["error_rate"], rel=5e-4), version_row
    # p95 from the merged sketches against the exact p95 of the raw requests: DDSketch's 1 %
    # relative accuracy, plus display rounding
    raw = sql(lake, f"""
        SELECT approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
               count(*) AS n
        FROM requests WHERE service = 'checkout' AND endpoint = 'POST /api/checkout' AND version = '2.4.0'
          AND ts >= {FROM} AND ts < {TO}""")[0]
    assert raw["n"] == expected["requests"]
    assert number(version_row[6]) == pytest.approx(raw["p95"], rel=0.03), (version_row, raw)


def test_figures_match_postlaunch_sql(server: Server, lake: Path) -> None:
    status, _, html = server.get(f"/?{WEEK}")
    assert status == 200
    rows = {(r[0], r[1]): r for r in cells_of(html) if len(r) == 5}
    requests = sql(lake, f"""SELECT sum(requests) AS n FROM hourly_service_metrics
                             WHERE version = '*' AND hour_start >= {FROM} AND hour_start < {TO}""")[0]["n"]
    assert number(rows[("Application", "requests")][2]) == requests
    before = sql(lake, """SELECT sum(requests) AS n FROM hourly_service_metrics WHERE version = '*'
                          AND hour_start >= TIMESTAMP '2026-11-02T00:00:00Z' AND hour_start < TIMESTAMP '2026-11-09T00:00:00Z'""")[0]["n"]
    assert number(rows[("Application", "requests")][3]) == before
    # the change, one decimal of a percentage
    assert number(rows[("Application", "requests")][4]) == pytest.approx(100 * (requests / before - 1), abs=0.05)
    revenue = sql(lake, f"SELECT sum(revenue) AS r FROM events WHERE ts >= {FROM} AND ts < {TO}")[0]["r"]
    assert number(rows[("Business", "revenue")][2]) == pytest.approx(revenue, rel=5e-4)

    # SLOs: availability over the 30 days ending at the range's end (all the demo's 14 days)
    slo = {r[1]: r for r in cells_of(html) if len(r) == 7 and r[0] == "availability"}
    checkout = sql(lake, f"""SELECT count(*) AS n, sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS bad FROM requests
                             WHERE service = 'checkout' AND ts < {TO}""")[0]
    assert number(slo["checkout"][4]) == checkout["bad"]
    good = 1 - checkout["bad"] / checkout["n"]
    assert number(slo["checkout"][3]) / 100 == pytest.approx(good, abs=5e-5)
    # budget left = 1 − bad share / (1 − 0.99)
    assert number(slo["checkout"][5]) / 100 == pytest.approx(1 - (1 - good) / 0.01, abs=5e-4)

    # Infrastructure: a host's mean CPU, the mean of its hourly means
    _, _, html = server.get(f"/infrastructure?{WEEK}")
    host = next(r for r in cells_of(html) if len(r) == 10 and r[1] == "checkout-1")
    cpu = sql(lake, f"""SELECT avg(cpu_avg) AS c FROM hourly_host_metrics WHERE host = 'checkout-1'
                        AND hour_start >= {FROM} AND hour_start < {TO}""")[0]["c"]
    assert number(host[2]) / 100 == pytest.approx(cpu, rel=5e-4)

    # User experience: LCP p75 of every page from merged sketches, against the raw values
    _, _, html = server.get(f"/experience?{WEEK}")
    lcp = next(r for r in cells_of(html) if r[0] == "LCP")
    raw = sql(lake, f"""SELECT count(*) AS n, approx_percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS p75,
                               avg(CASE WHEN value <= 2500 THEN 1.0 ELSE 0.0 END) AS good
                        FROM web_vitals WHERE name = 'LCP' AND ts >= {FROM} AND ts < {TO}""")[0]
    assert number(lcp[1]) == raw["n"]
    assert number(lcp[2]) == pytest.approx(raw["p75"], rel=0.03), (lcp, raw)
    assert number(lcp[3]) / 100 == pytest.approx(raw["good"], rel=5e-4), (lcp, raw)

    # Business: the funnel's first step
    _, _, html = server.get(f"/business?{WEEK}")
    step = next(r for r in cells_of(html) if len(r) == 6 and r[1].startswith("1. "))
    users = sql(lake, f"""SELECT sum(users) AS u FROM daily_funnel_steps WHERE funnel = '{step[0]}'
                          AND breakdown IS NULL AND step = 1 AND day_start >= {FROM} AND day_start < {TO}""")[0]["u"]
    assert number(step[2]) == users


def test_hostile_strings_render_as_text(server: Server) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{server.base}/application?service=web&range=30d")
            text = page.inner_text("main")
            assert f"GET /search/{IMG}" in text, "the hostile endpoint shows as text"
            assert SCRIPT in text
            assert "a-very-long-route-segment/" * 16 in text
            assert "\u202eمرحبا 🚀🔥\u202c" in text
            # drill into the hostile endpoint, then its hostile version
            page.get_by_role("link", name=f"GET /search/{IMG}").click()
            page.wait_for_load_state("load")
            assert page.title().startswith("Application · web · GET /search/")
            page.get_by_role("link", name=f"2.0.0{SCRIPT}").click()
            page.wait_for_load_state("load")
            assert f"Version 2.0.0{SCRIPT}" in page.inner_text("main")
            page.goto(f"{server.base}/business?range=30d")
            assert IMG in page.inner_text("main"), "the hostile feedback category"
            assert page.evaluate("document.querySelectorAll('img, iframe').length") == 0
            assert page.evaluate("document.scripts.length") == 1
            assert dialogs == []
        finally:
            browser.close()
    # the raw HTML parses strictly and carries no injected element or handler
    for path in ("/application?service=web&range=30d", "/business?range=30d"):
        status, _, html = server.get(path)
        assert status == 200
        doc = parse_strict(html)
        assert [s.get("src") for s in doc.findall(".//script")] == ["/assets/dashboard.js"]
        doc.find(".//head").remove(doc.find(".//head/script"))
        for link in doc.findall(".//head/link"):
            doc.find(".//head").remove(link)
        no_injection(doc)


def test_bad_parameters_get_400_or_404_pages_and_every_response_is_locked_down(server: Server) -> None:
    cases = [
        ("/application?service=nope", 404, "service `nope` has no requests"),
        ("/application?service=checkout&endpoint=GET%20%2Fnope", 404, "no endpoint `GET /nope`"),
        ("/application?endpoint=x", 400, "service → endpoint → version"),
        ("/incidents?id=INC-1999-999", 404, "INC-1999-999"),
        ("/changes?deployment=web%409.9.9", 404, "web@9.9.9"),
        ("/?range=1y", 400, "range `1y`: expected one of 24h, 7d, 30d"),
        ("/?from=yesterday&to=2026-11-10", 400, "`from` = `yesterday`"),
        ("/?from=2026-11-10&to=2026-11-09", 400, "must be before"),
        ("/?service=checkout", 400, "`service` is not a parameter of this page"),
        ("/?range=7d&range=24h", 400, "given twice"),
        ("/nope", 404, "No page `/nope`"),
        # SQL in a parameter is a value to look up, never SQL
        ("/application?service=x'%20OR%20'1'='1", 404, "service `x' OR '1'='1` has no requests"),
    ]
    for path, code, needle in cases:
        status, headers, body = server.get(path)
        assert status == code, (path, status)
        assert "text/html" in headers["content-type"], path
        text = " ".join("".join(parse_strict(body).itertext()).split())
        assert needle in text, (path, text[:300])
    status, headers, _ = server.get("/")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    timing = headers["server-timing"]
    assert re.search(r"total;dur=\d+(\.\d+)?", timing), timing
    # read-only
    status, _, _ = server.get("/", method="POST")
    assert status == 405


def test_a_page_shows_what_was_stored_after_the_server_started(server: Server, lake: Path) -> None:
    _, _, before = server.get("/incidents?range=30d")
    assert "Live test incident" not in before
    run("incident", "open", "-q", "--lake", str(lake), "--severity", "P3", "--service", "search",
        "--title", "Live test incident", "--at", "2026-11-15T20:00:00Z")
    run("incidents", "-q", "--lake", str(lake), "--at", "2026-11-17T00:00:00Z")
    _, _, after = server.get("/incidents?range=30d")
    assert "Live test incident" in after


def test_off_loopback_a_token_is_required(lake: Path) -> None:
    p = subprocess.run([str(postlaunch_bin()), "serve", "--lake", str(lake), "--listen", "0.0.0.0:0"],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "POSTLAUNCH_SERVE_TOKEN": ""})
    assert p.returncode == 64, p.stderr
    assert "--listen 0.0.0.0:0 is not a loopback address" in p.stderr and "--auth-token" in p.stderr
    s = start(lake, "--auth-token", "s3cret-token")
    try:
        status, _, body = s.get("/")
        assert status == 401 and "Authorization: Bearer" in body
        status, _, _ = s.get("/", headers={"Authorization": "Bearer wrong"})
        assert status == 401
        status, _, _ = s.get("/", headers={"Authorization": "Bearer s3cret-token"})
        assert status == 200
        # the browser's way: /login sets an HttpOnly cookie
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(s.base + "/login?token=s3cret-token", timeout=60) as r:
            assert r.status == 200 and "Overview" in r.read().decode()
    finally:
        stop(s)


def test_serve_usage_errors(tmp_path: Path) -> None:
    p = subprocess.run([str(postlaunch_bin()), "serve", "--lake", str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 64 and "is not a folder" in p.stderr, p.stderr
    bad = tmp_path / "alerts.toml"
    bad.write_text("[[slo]]\nname = 'x'\nobjective = 2\n")
    p = subprocess.run([str(postlaunch_bin()), "serve", "--lake", str(tmp_path), "--rules", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 78 and "objective" in p.stderr, p.stderr
