#!/usr/bin/env python3
"""Local stand-ins for the notification services without a local edition — PagerDuty's Events
API v2 and Slack's incoming webhooks — for the tests (tests/it/notify.rs). Each checks every
request against the service's published contract and answers with the service's real status
codes and bodies; every request is recorded, one JSON line each, with what was answered and when
it arrived (`received_ms`, wall clock; scripts/bench-alerts.sh measures to it).

  PagerDuty (POST /v2/enqueue; developer.pagerduty.com, "Events API v2 Overview", "Send an Alert
  Event", "Send a Resolve Event"): a JSON object; `routing_key` a 32-character string;
  `event_action` trigger, acknowledge or resolve; `dedup_key` at most 255 characters (required
  for acknowledge and resolve); for a trigger a `payload` with `summary` (1–1024 characters),
  `source` (non-empty) and `severity` (critical, error, warning or info), an ISO 8601
  `timestamp` if given, `links` of {href, text}; the whole event at most 512 KB. Answers 202
  {"status": "success", "message": "Event processed", "dedup_key": …}, or 400 {"status":
  "invalid event", "message": "Event object is invalid", "errors": [...]}.
  Slack (POST any path; api.slack.com/messaging/webhooks, "Handling errors"; Block Kit limits):
  a JSON object with `text` or `blocks`; at most 50 blocks of a known type; a header's text
  plain_text of at most 150 characters; a section's text at most 3000 characters and at most 10
  fields of at most 2000; text with `<`, `>` or `&` only in Slack's control sequences. Answers
  200 "ok", or 400 "invalid_payload" / "invalid_blocks".

--script "429,500,202" makes the first requests answer those statuses instead (a 429 with
`Retry-After: 1`), then the normal answer: how the tests make a service fail. The listening port
(0: any free one) is printed on stdout as `listening PORT` once the receiver is up.

Usage: scripts/receivers.py {pagerduty,slack} --out FILE [--listen 127.0.0.1:0] [--script CODES]
"""

import argparse
import json
import re
import signal
import sys
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

PD_SEVERITIES = {"critical", "error", "warning", "info"}
PD_ACTIONS = {"trigger", "acknowledge", "resolve"}
SLACK_BLOCKS = {"section", "header", "context", "divider", "actions", "image", "input", "rich_text"}
# Slack's control sequences: <@U123>, <#C123>, <!here>, <!date^…|…>, <http…|…>
SLACK_CONTROL = re.compile(r"<(?:[@#!][^<>]*|https?://[^<>|]*(?:\|[^<>]*)?)>")


def pagerduty_errors(event):
    errors = []
    if not isinstance(event, dict):
        return ["Event object is not a JSON object"]
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("'routing_key' must be a 32-character string")
    action = event.get("event_action")
    if action not in PD_ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        p = event.get("payload")
        if not isinstance(p, dict):
            errors.append("'payload' is missing or not an object")
        else:
            s = p.get("summary")
            if not isinstance(s, str) or not 0 < len(s) <= 1024:
                errors.append("'payload.summary' must be 1-1024 characters")
            if not isinstance(p.get("source"), str) or not p.get("source"):
                errors.append("'payload.source' is missing")
            if p.get("severity") not in PD_SEVERITIES:
                errors.append("'payload.severity' is invalid (critical, error, warning or info)")
            if "timestamp" in p:
                try:
                    datetime.fromisoformat(str(p["timestamp"]).replace("Z", "+00:00"))
                except ValueError:
                    errors.append("'payload.timestamp' is not ISO 8601")
            if "custom_details" in p and not isinstance(p["custom_details"], (dict, str)):
                errors.append("'payload.custom_details' must be an object")
        for link in event.get("links", []):
            if not isinstance(link, dict) or not isinstance(link.get("href"), str):
                errors.append("'links' entries need an 'href'")
    return errors


def slack_text_ok(text):
    return not re.search(r"[<>]", SLACK_CONTROL.sub("", text)) and not re.search(
        r"&(?!amp;|lt;|gt;)", text
    )


def slack_errors(msg):
    if not isinstance(msg, dict) or not (msg.get("text") or msg.get("blocks")):
        return "invalid_payload"
    if not slack_text_ok(str(msg.get("text", ""))):
        return "invalid_payload"
    blocks = msg.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for b in blocks:
        if not isinstance(b, dict) or b.get("type") not in SLACK_BLOCKS:
            return "invalid_blocks"
        text = b.get("text") or {}
        if b["type"] == "header":
            if text.get("type") != "plain_text" or len(text.get("text", "")) > 150:
                return "invalid_blocks"
        if b["type"] == "section":
            if len(text.get("text", "")) > 3000 or not slack_text_ok(text.get("text", "")):
                return "invalid_blocks"
            fields = b.get("fields", [])
            if len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                return "invalid_blocks"
            if any(not slack_text_ok(f.get("text", "")) for f in fields):
                return "invalid_blocks"
    return None


def handler_for(service, out, script):
    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body, content_type="application/json", retry_after=None):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if script:
                status = script.pop(0)
                text = {"429": "rate limited", "500": "internal error"}.get(str(status), "error")
                self.answer(status, json.dumps({"status": text}), retry_after=1 if status == 429 else None)
            elif service == "pagerduty":
                errors = ["Event object is not JSON"] if body is None else pagerduty_errors(body)
                if len(raw) > 512 * 1024:
                    errors.append("Event object is larger than 512 KB")
                if errors:
                    status = 400
                    self.answer(400, json.dumps({"status": "invalid event", "message": "Event object is invalid", "errors": errors}))
                else:
                    status = 202
                    self.answer(202, json.dumps({"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")}))
            else:
                error = "invalid_payload" if body is None else slack_errors(body)
                status = 400 if error else 200
                self.answer(status, error or "ok", content_type="text/plain")
            # when it arrived (wall clock, ms): the end of the end-to-end benchmark's latency
            record = {"path": self.path, "status": status, "body": body, "received_ms": int(time.time() * 1000)}
            out.write(json.dumps(record) + "\n")
            out.flush()

        def log_message(self, *args):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("service", choices=["pagerduty", "slack"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--script", default="")
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    if host != "127.0.0.1":
        sys.exit(f"receivers.py: listen on 127.0.0.1 only, not `{host}`")
    script = [int(x) for x in a.script.split(",") if x.strip()]
    out = open(a.out, "a", encoding="utf-8")
    server = HTTPServer((host, int(port)), handler_for(a.service, out, script))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
