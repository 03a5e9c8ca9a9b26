"""Notifications delivered to real servers: e-mail to an SMTP server (aiosmtpd, from PyPI) and
alerts to a real Alertmanager 0.25 (Debian's `prometheus-alertmanager`, started by
`scripts/prometheus.sh` on 127.0.0.1 and stopped by PID), through `postlaunch alerts test`,
which sends a test alert and its resolution on one channel through the same path as real
alerts: queue, payload, sending, retries.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from aiosmtpd.controller import Controller

from conftest import postlaunch_bin

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collect:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def alerts_test(tmp: Path, rules: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp / "alerts.toml"
    path.write_text(rules)
    return subprocess.run(
        [str(postlaunch_bin()), "alerts", "test", "--lake", str(tmp / "lake"), "--rules", str(path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_email_reaches_a_real_smtp_server_as_text_and_escaped_html(tmp_path: Path) -> None:
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        rules = f"""[notify.email]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "postlaunch <postlaunch@example.com>"
to = ["oncall@example.com", "Team Lead <lead@example.com>"]
"""
        # a service name as an event could carry it: markup that must not reach the HTML as markup
        evil = '<script>alert("x")</script> & co'
        out = alerts_test(tmp_path, rules, "--channel", "email", "--entity", evil)
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        controller.stop()
    # the alert and its resolution: two mails, each to both recipients
    assert len(handler.messages) == 2, out.stdout
    assert handler.envelopes[0] == ("postlaunch@example.com", ["oncall@example.com", "lead@example.com"])
    firing, resolved = handler.messages
    # e-mail hears P3 and P4 by default: the test alert is P3
    assert firing["Subject"].startswith("[postlaunch] P3 service "), firing["Subject"]
    assert resolved["Subject"].startswith("[postlaunch] Resolved: service "), resolved["Subject"]
    assert firing["From"] == "postlaunch <postlaunch@example.com>"
    assert "lead@example.com" in firing["To"]
    assert firing.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in firing.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "P3 postlaunch_test on service" in parts["text/plain"]
    html = parts["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html, html
    assert "&amp; co" in html
    assert "<table" in html and "postlaunch_test" in html


def test_a_group_of_alerts_goes_out_as_one_mail_not_one_per_alert(tmp_path: Path) -> None:
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        rules = f"""[notify.email]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "postlaunch@example.com"
to = ["oncall@example.com"]
"""
        out = alerts_test(tmp_path, rules, "--channel", "email", "--entity", "checkout", "--group", "3")
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        controller.stop()
    # three alerts of one service: one mail when they fire, one when they resolve — not six
    assert len(handler.messages) == 2, [m["Subject"] for m in handler.messages]
    firing, resolved = handler.messages
    assert firing["Subject"] == "[postlaunch] P3 service checkout: 3 alert(s) firing", firing["Subject"]
    assert resolved["Subject"].startswith("[postlaunch] Resolved: service checkout"), resolved["Subject"]
    text = firing.get_body(preferencelist=("plain",)).get_content()
    html = firing.get_body(preferencelist=("html",)).get_content()
    for i in (1, 2, 3):
        assert f"postlaunch_test_{i}" in text and f"postlaunch_test_{i}" in html, text


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def wait_for(what: str, check, seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def test_alertmanager_receives_alerts_over_api_v2_and_pages_its_webhook(tmp_path: Path) -> None:
    am_port, prom_port, hook_port = free_port(), free_port(), free_port()
    pages = tmp_path / "webhook.txt"
    hook = subprocess.Popen(
        ["python3", str(REPO / "scripts/alert-webhook.py"), "--out", str(pages), "--listen", f"127.0.0.1:{hook_port}"]
    )
    env = dict(
        os.environ,
        PROM_HOME_DIR=str(tmp_path / "prom"),
        PROM_PORT=str(prom_port),
        ALERTMANAGER_PORT=str(am_port),
        PROM_WEBHOOK_URL=f"http://127.0.0.1:{hook_port}/alerts",
        PROM_TARGET="127.0.0.1:9",
    )
    script = str(REPO / "scripts/prometheus.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=600)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        rules = f'[notify.alertmanager]\nurl = "http://127.0.0.1:{am_port}"\n'
        (tmp_path / "alerts.toml").write_text(rules)
        # fires for 20 s (Alertmanager's group_wait is 5 s), then resolves
        test = subprocess.Popen(
            [str(postlaunch_bin()), "alerts", "test", "--lake", str(tmp_path / "lake"), "--rules",
             str(tmp_path / "alerts.toml"), "--channel", "alertmanager", "--hold", "20s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ours = wait_for(
            "the alert in Alertmanager's GET /api/v2/alerts",
            lambda: [a for a in get_json(f"http://127.0.0.1:{am_port}/api/v2/alerts")
                     if a["labels"].get("alertname") == "postlaunch_test"],
            15,
        )
        labels = ours[0]["labels"]
        assert labels["severity"] == "P1" and labels["service"] == "postlaunch-test", labels
        assert labels["source"] == "postlaunch"
        assert "summary" in ours[0]["annotations"]
        assert ours[0]["status"]["state"] == "active"
        wait_for("the firing page", lambda: "alert postlaunch-test" in (pages.read_text() if pages.exists() else ""), 30)
        stdout, stderr = test.communicate(timeout=120)
        assert test.returncode == 0, stdout + stderr
        assert stdout.count("alertmanager") >= 2 and "sent (HTTP 200)" in stdout, stdout
        wait_for("the resolved page", lambda: "resolved postlaunch-test" in pages.read_text(), 30)
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)
        hook.terminate()
        hook.wait(timeout=10)
