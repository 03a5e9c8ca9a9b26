"""`postlaunch report`: the weekly retrospective and an incident report as self-contained HTML
(parsed by html5lib in strict mode: a parse error fails) and Markdown, on two weeks of demo data
with a hostile incident title; the report's figures checked against `postlaunch sql`; every report
rendered in a real headless Chromium and printed to PDF.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import html5lib
import pytest

from conftest import postlaunch_bin

HOSTILE = 'search <script>alert(1)</script> "><img src=x onerror=alert(2)> ‮RTL 🚀 ' + "x" * 300


def run(*args: str) -> str:
    proc = subprocess.run([str(postlaunch_bin()), *args], capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, f"postlaunch {' '.join(args)}: {proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def two_weeks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("report") / "lake"
    run("demo", "-q", "--lake", str(lake), "--days", "14", "--scale", "0.1")
    # the hourly tables the report reads (all of them take minutes in a debug build)
    run("hourly", "-q", "--lake", str(lake), "--all", "--no-rollups", "--only", "service_metrics",
        "--only", "web_vitals", "--only", "business_metrics", "--only", "feature_adoption",
        "--only", "host_metrics")
    rules = str(Path(__file__).resolve().parents[2] / "pipelines" / "alerts.toml")
    run("alerts", "replay", "-q", "--lake", str(lake), "--rules", rules, "--store", "--format", "csv")
    # the week's optimisation, measured (deployment_impact)
    optimizations = str(Path(__file__).resolve().parents[2] / "pipelines" / "optimizations.toml")
    run("impact", "-q", "--lake", str(lake), "--deployment", "checkout@2.4.0", "--optimizations", optimizations)
    out = run("incident", "open", "-q", "--lake", str(lake), "--severity", "P2", "--service", "search",
              "--title", HOSTILE, "--at", "2026-11-13T03:20:00Z")
    assert out.strip() == "INC-2026-002"
    run("incident", "resolve", "-q", "--lake", str(lake), "INC-2026-002", "--at", "2026-11-13T04:00:00Z")
    return lake


def span(s: float) -> str:
    """The report's duration format: 90 s, 15 min, 2 h, 2.2 h, 3.0 d."""
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        h = s / 3600
        return f"{h:.0f} h" if abs(h - round(h)) < 0.05 else f"{h:.1f} h"
    return f"{s / 86400:.1f} d"


def parse_strict(text: str):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


def no_injection(doc) -> None:
    assert doc.findall(".//script") == []
    assert doc.findall(".//img") == []
    for el in doc.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"{el.tag} has {name}={value}"
            assert "http" not in value or value == "http://www.w3.org/2000/svg", f"{el.tag} {name}={value}"


def test_weekly_report_is_valid_self_contained_html_and_markdown(two_weeks: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    run("report", "weekly", "-q", "--lake", str(two_weeks), "--week", "2026-W46", "--out", str(out),
        "--at", "2026-11-17T00:00:00Z")
    html = (out / "weekly-2026-W46.html").read_text()
    md = (out / "weekly-2026-W46.md").read_text()
    doc = parse_strict(html)
    no_injection(doc)
    # the hostile title is there, as text
    assert "&lt;script&gt;alert(1)&lt;" in html
    assert HOSTILE[:40] in "".join(doc.itertext())
    # every section, and the charts are inline SVG
    heads = [h.text for h in doc.findall(".//h2")]
    assert heads[0].startswith("Metric trends, 2026-W46 against 2026-W45"), heads
    for h in ("Services, day by day", "Optimisations measured", "New candidates (opportunities)", "Incidents", "Alert noise"):
        assert h in heads, heads
    assert len(doc.findall(".//{http://www.w3.org/2000/svg}svg")) == 2
    # Markdown: the same sections, the hostile string escaped
    assert "## Incidents" in md and "&lt;script&gt;" in md and "<script>" not in md


def test_weekly_figures_match_postlaunch_sql(two_weeks: Path) -> None:
    md = run("report", "weekly", "-q", "--lake", str(two_weeks), "--week", "2026-W46", "--at", "2026-11-17T00:00:00Z")
    row = next(line for line in md.splitlines() if line.startswith("| requests\\_per\\_day | checkout |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    this_week, last_week = float(cells[2].replace(",", "")), float(cells[3].replace(",", ""))
    # the same figure from the hourly table: requests of the week / 7 days
    sql = json.loads(run("sql", "-q", "--lake", str(two_weeks), "--format", "json", """
        SELECT sum(CASE WHEN hour_start >= TIMESTAMP '2026-11-09T00:00:00Z' THEN requests END) / 7.0 AS w46,
               sum(CASE WHEN hour_start < TIMESTAMP '2026-11-09T00:00:00Z' THEN requests END) / 7.0 AS w45
        FROM hourly_service_metrics
        WHERE service = 'checkout' AND version = '*'
          AND hour_start >= TIMESTAMP '2026-11-02T00:00:00Z' AND hour_start < TIMESTAMP '2026-11-16T00:00:00Z'
    """))[0]
    # the report shows 4 significant digits (whole numbers from 10 000): relative tolerance 5e-4
    assert this_week == pytest.approx(sql["w46"], rel=5e-4), (row, sql)
    assert last_week == pytest.approx(sql["w45"], rel=5e-4), (row, sql)
    # the optimisation measured: checkout@2.4.0's p95 before/after, its hypothesis backfired
    row = next(line for line in md.splitlines()
               if line.startswith("| checkout@2.4.0 | before\\_after | p95\\_latency\\_ms |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    stored = json.loads(run("sql", "-q", "--lake", str(two_weeks), "--format", "json", """
        SELECT baseline_value, after_value, relative_effect, hypothesis_result FROM deployment_impact
        WHERE deployment = 'checkout@2.4.0' AND comparison = 'before_after' AND metric = 'p95_latency_ms'
        ORDER BY analysis_time DESC LIMIT 1"""))[0]
    assert float(cells[3]) == pytest.approx(stored["baseline_value"], rel=5e-4), (row, stored)
    assert float(cells[4]) == pytest.approx(stored["after_value"], rel=5e-4), (row, stored)
    # a percentage with one decimal: within 0.05 points
    assert float(cells[5].rstrip(" %")) == pytest.approx(100 * stored["relative_effect"], abs=0.05), (row, stored)
    assert cells[7] == stored["hypothesis_result"] == "backfire", (row, stored)
    assert "checkout@2.4.0: BACKFIRE" in md


def test_incident_report_shows_the_figures_of_postlaunch_incidents(two_weeks: Path) -> None:
    html = run("report", "incident", "INC-2026-001", "-q", "--lake", str(two_weeks), "--format", "html",
               "--at", "2026-11-17T00:00:00Z")
    doc = parse_strict(html)
    no_injection(doc)
    text = " ".join("".join(doc.itertext()).split())
    figures = json.loads(run("incidents", "-q", "--lake", str(two_weeks), "--all-columns", "--format", "json",
                             "--at", "2026-11-17T00:00:00Z", "--no-write"))
    inc = next(r for r in figures if r["incident_id"] == "INC-2026-001")
    cells = {}
    for tr in doc.findall(".//tr"):
        tds = ["".join(td.itertext()) for td in tr.findall("td")]
        if len(tds) >= 2:
            cells[tds[0]] = tds[1]
    # durations as the report writes them (src/incident/metrics.rs `span`)
    assert cells["MTTR (impact start → resolved)"] == span(inc["mttr_s"]), cells
    assert cells["MTTA (told → acknowledged)"] == span(inc["mtta_s"]), cells
    assert "Timeline (UTC)" in text and "acknowledged" in text
    hostile = run("report", "incident", "INC-2026-002", "-q", "--lake", str(two_weeks), "--format", "html")
    no_injection(parse_strict(hostile))
    assert "&lt;script&gt;" in hostile


def test_monthly_review_projects_capacity_as_numpy_does(two_weeks: Path, tmp_path: Path) -> None:
    import numpy as np

    out = tmp_path / "reports"
    demo = str(Path(__file__).resolve().parents[2] / "pipelines" / "demo.toml")
    run("report", "monthly", "-q", "--lake", str(two_weeks), "--month", "2026-11", "--pipeline", demo,
        "--out", str(out), "--at", "2026-11-17T00:00:00Z")
    doc = parse_strict((out / "monthly-2026-11.html").read_text())
    no_injection(doc)
    heads = [h.text for h in doc.findall(".//h2")]
    assert heads == ["Against the launch", "Optimisations of the month", "Incidents and their SLOs",
                     "Capacity planning", "Infrastructure cost per active user", "Phase 8 completion"], heads
    # the assessment at the month's end (the report's --at): the decision and every criterion
    md_all = (out / "monthly-2026-11.md").read_text()
    assert "As of 2026-11-17 00:00 UTC:" in md_all and "decision: continue optimisation cycles" in md_all
    md = (out / "monthly-2026-11.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| checkout | CPU |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # the same line fitted by NumPy to the days `postlaunch sql` gives
    days = json.loads(run("sql", "-q", "--lake", str(two_weeks), "--format", "json", """
        SELECT CAST(date_trunc('day', hour_start) AS BIGINT) AS day, avg(cpu_avg) AS cpu
        FROM hourly_host_metrics WHERE service = 'checkout'
          AND hour_start >= TIMESTAMP '2026-11-01T00:00:00Z' AND hour_start < TIMESTAMP '2026-12-01T00:00:00Z'
        GROUP BY 1 ORDER BY 1"""))
    x = np.array([d["day"] for d in days], dtype=float)
    y = np.array([d["cpu"] for d in days])
    slope, intercept = np.polyfit(x, y, 1)
    now = intercept + slope * x.max()
    weekly = slope * 7 * 86_400e6
    # shown with one decimal: within 0.05 percentage points; growth with two
    assert float(cells[3].rstrip(" %")) == pytest.approx(100 * now, abs=0.05), (row, now)
    assert float(cells[4].split()[0]) == pytest.approx(100 * weekly, abs=0.005), (row, weekly)


def test_impact_report_draws_the_readout_of_postlaunch_impact(two_weeks: Path) -> None:
    optimizations = str(Path(__file__).resolve().parents[2] / "pipelines" / "optimizations.toml")
    html = run("report", "impact", "-q", "--lake", str(two_weeks), "--deployment", "checkout@2.4.0",
               "--optimizations", optimizations, "--format", "html")
    doc = parse_strict(html)
    no_injection(doc)
    readout = json.loads(run("impact", "-q", "--lake", str(two_weeks), "--deployment", "checkout@2.4.0",
                             "--optimizations", optimizations, "--format", "json", "--no-write"))
    text = " ".join("".join(doc.itertext()).split())
    assert readout["verdict"] in text
    # one interval per metric and comparison, drawn
    svg = "{http://www.w3.org/2000/svg}"
    finite = [r for r in readout["rows"] if all(isinstance(r.get(k), float) for k in ("relative_effect",))
              and r["relative_ci"]["low"] is not None and r["relative_ci"]["high"] is not None]
    assert len(doc.findall(f".//{svg}circle")) == len(finite), (len(finite), readout["rows"][:2])
    # the p95 row: its change and interval as `impact` computed them
    p95 = next(r for r in readout["rows"] if r["comparison"] == "before_after" and r["metric"] == "p95_latency_ms")
    cells = {}
    for tr in doc.findall(".//tr"):
        tds = ["".join(td.itertext()) for td in tr.findall("td")]
        if tds and tds[0] == "p95_latency_ms" and tds[0] not in cells:
            cells[tds[0]] = tds
    shown = cells["p95_latency_ms"][3]
    expected = f"{100 * p95['relative_effect']:+.1f} % [{100 * p95['relative_ci']['low']:+.1f} %, {100 * p95['relative_ci']['high']:+.1f} %]"
    assert shown == expected, (shown, expected)
    assert cells["p95_latency_ms"][6] == p95["hypothesis_result"] == "backfire"


def test_experiment_report_draws_the_readout_of_experiment_analyze(two_weeks: Path) -> None:
    experiments = str(Path(__file__).resolve().parents[2] / "pipelines" / "experiments.toml")
    at = "2026-11-09T00:00:00Z"
    html = run("report", "experiment", "checkout_redesign", "-q", "--lake", str(two_weeks), "--config", experiments,
               "--analysis-time", at, "--window", "7d", "--format", "html")
    doc = parse_strict(html)
    no_injection(doc)
    readout = json.loads(run("experiment", "analyze", "checkout_redesign", "-q", "--lake", str(two_weeks),
                             "--config", experiments, "--at", at, "--window", "7d", "--format", "json",
                             "--no-write"))
    text = " ".join("".join(doc.itertext()).split())
    assert readout["verdict"] in text
    rows = {}
    for tr in doc.findall(".//tr"):
        tds = ["".join(td.itertext()) for td in tr.findall("td")]
        if len(tds) == 9:
            rows[(tds[0], tds[2])] = tds
    for r in readout["rows"]:
        if r["relative_effect"] is None or r["relative_ci"]["low"] is None:
            continue
        shown = rows[(r["metric"], r["variant"])][5]
        expected = f"{100 * r['relative_effect']:+.1f} % [{100 * r['relative_ci']['low']:+.1f} %, {100 * r['relative_ci']['high']:+.1f} %]"
        assert shown == expected, (r["metric"], shown, expected)


def test_report_errors_have_usage_exit_codes(two_weeks: Path, tmp_path: Path) -> None:
    def code(*args: str) -> tuple[int, str]:
        p = subprocess.run([str(postlaunch_bin()), *args], capture_output=True, text=True, timeout=300, check=False)
        return p.returncode, p.stderr
    c, err = code("report", "weekly", "--lake", str(two_weeks), "--week", "2026-46")
    assert c == 64 and "2026-46" in err, err
    c, err = code("report", "incident", "INC-2099-001", "--lake", str(two_weeks))
    assert c == 64 and "INC-2099-001" in err, err
    c, err = code("report", "weekly", "--lake", str(two_weeks), "--week", "2026-W46", "--format", "both")
    assert c == 64 and "--out" in err, err
    c, err = code("report", "monthly", "--lake", str(two_weeks), "--month", "2026-13")
    assert c == 64 and "2026-13" in err, err
    c, err = code("report", "experiment", "nope", "--lake", str(two_weeks))
    assert c == 64 and "nope" in err and "checkout_redesign" in err, err
    c, err = code("report", "impact", "--lake", str(two_weeks), "--deployment", "checkout")
    assert c == 64 and "SERVICE@VERSION" in err, err
    c, err = code("report", "impact", "--lake", str(two_weeks), "--deployment", "checkout@9.9.9")
    assert c == 64 and "checkout@9.9.9" in err, err


def chromium() -> str:
    """Debian's Chromium (`scripts/chromium.sh`, run by scripts/test.sh); a run without it fails
    rather than skips: a green run that tested nothing would hide a broken report."""
    path = os.environ.get("POSTLAUNCH_CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no Chromium at `{path}`: run scripts/chromium.sh (or set POSTLAUNCH_CHROMIUM)", pytrace=False)
    return path


#: As the machine's notes say Chromium must start here: no sandbox (root), no background
#: networking (its connections are refused on this closed network), a fresh profile.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def watch(page) -> tuple[list[str], list[str]]:
    """What a page does that it must not: console errors and warnings, uncaught exceptions,
    failed requests, dialogs (an injected script would most likely call alert()); and every URL
    it requests."""
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    return problems, requests


def test_reports_render_in_headless_chromium_with_no_error_request_or_injected_element(
        two_weeks: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    out = tmp_path / "reports"
    run("report", "weekly", "-q", "--lake", str(two_weeks), "--week", "2026-W46", "--out", str(out),
        "--format", "html", "--at", "2026-11-17T00:00:00Z")
    run("report", "incident", "INC-2026-002", "-q", "--lake", str(two_weeks), "--out", str(out),
        "--format", "html", "--at", "2026-11-17T00:00:00Z")
    demo = str(Path(__file__).resolve().parents[2] / "pipelines" / "demo.toml")
    run("report", "monthly", "-q", "--lake", str(two_weeks), "--month", "2026-11", "--pipeline", demo,
        "--out", str(out), "--format", "html", "--at", "2026-11-17T00:00:00Z")
    run("report", "impact", "-q", "--lake", str(two_weeks), "--deployment", "checkout@2.4.0", "--out", str(out),
        "--format", "html")
    run("report", "experiment", "checkout_redesign", "-q", "--lake", str(two_weeks), "--out", str(out),
        "--format", "html", "--analysis-time", "2026-11-09T00:00:00Z", "--window", "7d")
    pages = [out / "weekly-2026-W46.html", out / "incident-INC-2026-002.html", out / "monthly-2026-11.html",
             out / "impact-checkout_2_4_0.html", out / "experiment-checkout_redesign.html"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            for f in pages:
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                problems, requests = watch(page)
                page.goto(f.as_uri())
                page.wait_for_load_state("load")
                assert problems == [], problems
                assert requests == [f.as_uri()], f"the report loads nothing else: {requests}"
                assert page.evaluate("document.querySelectorAll('script, img, iframe, object').length") == 0
                text = page.evaluate("document.body.innerText")
                if f.name.startswith(("weekly", "incident")):
                    assert "<script>alert(1)</script>" in text, "the hostile title shows as text"
                if f.name.startswith(("weekly", "monthly")):
                    assert page.evaluate("document.querySelectorAll('svg.chart').length") == 2
                    # the charts drew lines
                    assert page.evaluate("document.querySelectorAll('svg.chart path.line').length") >= 2
                page.screenshot(path=str(tmp_path / f"{f.stem}.png"), full_page=True)
                # prints: Chromium makes a PDF of it
                pdf = tmp_path / f"{f.stem}.pdf"
                page.pdf(path=str(pdf), format="A4")
                assert pdf.stat().st_size > 10_000 and pdf.read_bytes().startswith(b"%PDF")
                page.close()
        finally:
            browser.close()
    print(f"screenshots in {tmp_path}")
