#!/usr/bin/env python3
"""Alertmanager's webhook receiver for scripts/bench-alerts.sh: records when each page arrives.

For every alert in every notification Alertmanager posts, it appends a line to OUT with the wall
time the request arrived, in milliseconds since the Unix epoch:

    alert SERVICE WALL_MS       a firing alert for the service (its `service` label)
    resolved SERVICE WALL_MS    a resolved one (Alertmanager's send_resolved)

An alert without a `service` label is recorded as `-`. Lines are flushed one by one, so the file
can be read while the receiver runs. It answers 200 to any well-formed notification, 400 to a body
that is not JSON, and stops on SIGTERM or SIGINT. A local test receiver: plain http.server, one
request at a time, no authentication; listen on 127.0.0.1 only.

Usage: scripts/alert-webhook.py --out FILE [--listen 127.0.0.1:19095]
"""

import argparse
import json
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def address(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"`{text}` is not HOST:PORT, e.g. 127.0.0.1:19095")
    return host, int(port)


def handler_for(out):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            # The arrival time, taken before the body is read and parsed.
            wall_ms = time.time_ns() // 1_000_000
            length = int(self.headers.get("Content-Length") or 0)
            try:
                notification = json.loads(self.rfile.read(length))
                alerts = notification.get("alerts", [])
            except (ValueError, AttributeError) as e:
                self.send_error(400, f"expected an Alertmanager webhook notification: {e}")
                return
            for alert in alerts:
                kind = "alert" if alert.get("status") == "firing" else "resolved"
                service = alert.get("labels", {}).get("service") or "-"
                out.write(f"{kind} {service} {wall_ms}\n")
            out.flush()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            # No access log: OUT is the record.
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(
        description="Alertmanager webhook receiver: appends `alert SERVICE WALL_MS` lines to OUT."
    )
    parser.add_argument("--out", required=True, help="file the lines are appended to")
    parser.add_argument(
        "--listen",
        type=address,
        default=("127.0.0.1", 19095),
        help="HOST:PORT (default 127.0.0.1:19095)",
    )
    args = parser.parse_args()
    host, port = args.listen
    # SIGTERM ends serve_forever like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(args.out, "a", encoding="utf-8") as out:
        try:
            server = HTTPServer(args.listen, handler_for(out))
        except OSError as e:
            print(f"alert-webhook.py: cannot listen on {host}:{port}: {e}", file=sys.stderr)
            return 2
        print(f"alert-webhook.py: listening on {host}:{port}, writing `{args.out}`", file=sys.stderr)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
