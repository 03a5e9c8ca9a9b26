#!/usr/bin/env python3
"""Local stand-in for the GitHub REST API's Issues endpoints (GitHub has no local edition), for
the tests of `postlaunch backlog publish`. It checks every request against GitHub's published
contract (docs.github.com/en/rest: "Issues", "Using pagination in the REST API", "Rate limits for
the REST API", "Troubleshooting") and answers with GitHub's real status codes, headers and JSON
bodies; every request is recorded, one JSON line each, with what was answered and when it
arrived (`received_ms`, wall clock). The Authorization header's value is never written anywhere.

  Every request: a `User-Agent` header (else 403, GitHub's plain-text "Request forbidden by
  administrative rules" answer); `Authorization: Bearer TOKEN` or `token TOKEN` (else 401 "Bad
  credentials"). Answers carry `x-ratelimit-{limit,remaining,used,reset,resource}` (5000 an
  hour, `core`), `X-GitHub-Request-Id` and `Content-Type: application/json; charset=utf-8`.
  Unknown paths, repositories, issue numbers and methods answer 404 "Not Found".
  GET /repos/OWNER/NAME/issues: `state` open|closed|all (else 422), `labels` (all of them, case
  insensitive), `sort` created|updated, `direction` desc|asc, `per_page` (default 30, at most
  100 or --page-cap), `page`; a `Link` header (prev, next, last, first) when there are pages.
  POST /repos/OWNER/NAME/issues: `title` (string or integer, 1–256 characters), `body` (at most
  65536), `labels` (names or {name}, at most 50 characters each; missing ones are created),
  `assignees`, `milestone` (none exist: any number is 422). 201 and a `Location` header; 400
  "Problems parsing JSON"; 422 "Validation Failed" with errors of code missing_field, invalid,
  or custom with a message.
  PATCH /repos/OWNER/NAME/issues/N: `title`, `body`, `state` open|closed, `state_reason`
  completed|not_planned|reopened|null, `labels` (replace the set). GET …/issues/N.

--script "secondary,429,primary,500,ok" makes the first requests (after the User-Agent and
token checks) fail that way instead, without performing them: a secondary rate limit (403 with
`Retry-After: 1`), a 429 (same, with `Retry-After: 1`), the primary rate limit (403 with
`x-ratelimit-remaining: 0` and `x-ratelimit-reset` two seconds ahead), a 500; `ok` answers
normally. --filler N pre-creates N open issues ("Filler issue K", label `chore`); --page-cap
lowers the largest page so that listing needs several. The listening port (0: any free one) is
printed on stdout as `listening PORT` once the server is up.

Usage: scripts/github-api.py --out FILE [--listen 127.0.0.1:0] [--token TOKEN] [--repo OWNER/NAME]
                             [--filler N] [--script CODES] [--page-cap N]
"""

import argparse
import base64
import json
import math
import random
import re
import signal
import sys
import time
import zlib
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlsplit

DOCS = "https://docs.github.com/rest"
NOT_FOUND = {"message": "Not Found", "documentation_url": DOCS, "status": "404"}
BAD_CREDENTIALS = {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
NO_USER_AGENT = (
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent "
    "header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required)."
    " Check https://developer.github.com for other possible causes.\n"
)
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"
CREATE_DOCS = "https://docs.github.com/rest/issues/issues#create-an-issue"
UPDATE_DOCS = "https://docs.github.com/rest/issues/issues#update-an-issue"
LIST_DOCS = "https://docs.github.com/rest/issues/issues#list-repository-issues"
SCRIPT_CODES = {"secondary", "429", "primary", "500", "ok"}
LIMIT = 5000
ISSUES = re.compile(r"^/repos/([^/]+)/([^/]+)/issues(?:/([^/]+))?/?$")


def iso(t):
    return None if t is None else datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def validation_failed(errors, docs):
    return {"message": "Validation Failed", "errors": errors, "documentation_url": docs, "status": "422"}


class Repo:
    """The one repository: its issues and labels, numbered and identified the way GitHub does."""

    def __init__(self, full_name):
        self.full_name = full_name
        self.issues = {}  # number -> stored issue
        self.labels = {}  # lower-cased name -> label JSON (names are case-insensitive on GitHub)

    def label(self, name):
        key = name.lower()
        if key not in self.labels:
            lid = 4_000_000 + len(self.labels) + 1
            self.labels[key] = {
                "id": lid, "node_id": "LA_" + base64.b64encode(f"Label{lid}".encode()).decode().rstrip("="),
                "url": f"https://api.github.com/repos/{self.full_name}/labels/{name}", "name": name,
                "color": f"{zlib.crc32(key.encode()) & 0xFFFFFF:06x}", "default": False, "description": None,
            }
        return self.labels[key]

    def create(self, title, body, labels, assignees):
        number = len(self.issues) + 1
        now = time.time()
        self.issues[number] = {
            "number": number, "title": title, "body": body, "state": "open", "state_reason": None,
            "labels": [self.label(n) for n in labels], "assignees": assignees,
            "created": now, "updated": now, "closed": None,
        }
        return self.issues[number]

    def json(self, i):
        iid = 2_000_000_000 + i["number"]
        url = f"https://api.github.com/repos/{self.full_name}/issues/{i['number']}"
        return {
            "id": iid, "node_id": "I_" + base64.b64encode(f"Issue{iid}".encode()).decode().rstrip("="),
            "url": url, "repository_url": f"https://api.github.com/repos/{self.full_name}",
            "labels_url": url + "/labels{/name}", "comments_url": url + "/comments", "events_url": url + "/events",
            "html_url": f"https://github.com/{self.full_name}/issues/{i['number']}",
            "number": i["number"], "title": i["title"], "body": i["body"], "state": i["state"],
            "state_reason": i["state_reason"], "labels": i["labels"], "locked": False,
            "active_lock_reason": None, "user": {"login": "postlaunch-bot", "id": 1, "type": "User"},
            "assignee": ({"login": i["assignees"][0]} if i["assignees"] else None),
            "assignees": [{"login": a} for a in i["assignees"]], "milestone": None, "comments": 0,
            "created_at": iso(i["created"]), "updated_at": iso(i["updated"]),
            "closed_at": iso(i["closed"]), "author_association": "OWNER",
        }


def fields_errors(body, creating):
    """GitHub's checks of an issue's fields; returns (errors, cleaned fields)."""
    errors, clean = [], {}
    if "title" in body or creating:
        t = body.get("title")
        if t is None or (isinstance(t, str) and not t.strip()):
            errors.append({"resource": "Issue", "code": "missing_field", "field": "title"})
        elif isinstance(t, bool) or not isinstance(t, (str, int)):
            errors.append({"resource": "Issue", "code": "invalid", "field": "title"})
        elif len(str(t)) > 256:
            errors.append({"resource": "Issue", "code": "custom", "field": "title",
                           "message": "title is too long (maximum is 256 characters)"})
        else:
            clean["title"] = str(t)
    if "body" in body:
        b = body["body"]
        if b is not None and not isinstance(b, str):
            errors.append({"resource": "Issue", "code": "invalid", "field": "body"})
        elif b is not None and len(b) > 65536:
            errors.append({"resource": "Issue", "code": "custom", "field": "body",
                           "message": "body is too long (maximum is 65536 characters)"})
        else:
            clean["body"] = b
    if "labels" in body:
        names = []
        for label in body["labels"] if isinstance(body["labels"], list) else [None]:
            name = label.get("name") if isinstance(label, dict) else label
            if not isinstance(name, str) or not name.strip():
                errors.append({"resource": "Issue", "code": "invalid", "field": "labels"})
            elif len(name) > 50:
                errors.append({"resource": "Label", "code": "custom", "field": "name",
                               "message": "name is too long (maximum is 50 characters)"})
            elif name.lower() not in [n.lower() for n in names]:
                names.append(name)
        clean["labels"] = names
    if "assignees" in body:
        a = body["assignees"]
        if not isinstance(a, list) or not all(isinstance(x, str) for x in a):
            errors.append({"resource": "Issue", "code": "invalid", "field": "assignees"})
        else:
            clean["assignees"] = a
    if body.get("milestone") is not None:  # the repository has no milestones
        errors.append({"resource": "Issue", "code": "invalid", "field": "milestone", "value": body["milestone"]})
    if "state" in body and not creating:  # not fields of a new issue
        if body["state"] not in ("open", "closed"):
            errors.append({"resource": "Issue", "code": "invalid", "field": "state"})
        clean["state"] = body["state"]
    if "state_reason" in body and not creating:
        if body["state_reason"] not in ("completed", "not_planned", "reopened", None):
            errors.append({"resource": "Issue", "code": "invalid", "field": "state_reason"})
        clean["state_reason"] = body["state_reason"]
    return errors, clean


def handler_for(a, repo, script, out):
    started = time.time()
    counter = {"used": 0}

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body, headers=(), rate=True):
            if isinstance(body, str):  # GitHub's front end answers a missing User-Agent in plain text
                data, ctype = body.encode(), "text/html"
            else:
                data, ctype = json.dumps(body).encode(), "application/json; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-GitHub-Request-Id", self.rid)
            if rate:
                used = min(counter["used"], LIMIT)
                for k, v in (("limit", LIMIT), ("remaining", LIMIT - used), ("reset", int(started) + 3600),
                             ("used", used), ("resource", "core")):
                    self.send_header(f"x-ratelimit-{k}", str(v))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            return status

        def handle_any(self):
            received_ms = int(time.time() * 1000)
            self.rid = "%04X:%06X:%06X:%07X:%08X" % tuple(random.getrandbits(b) for b in (16, 24, 24, 28, 32))
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                body = None
            status = self.route(raw, body)
            record = {
                "method": self.command, "path": self.path, "status": status, "received_ms": received_ms,
                "authorization_present": self.headers.get("Authorization") is not None,
                "user_agent": self.headers.get("User-Agent"), "accept": self.headers.get("Accept"),
                "api_version": self.headers.get("X-GitHub-Api-Version"), "body": body,
            }
            out.write(json.dumps(record) + "\n")
            out.flush()

        def route(self, raw, body):
            if not self.headers.get("User-Agent"):
                return self.answer(403, NO_USER_AGENT, rate=False)
            scheme, _, given = (self.headers.get("Authorization") or "").strip().partition(" ")
            if scheme.lower() not in ("bearer", "token") or given.strip() != a.token:
                return self.answer(401, BAD_CREDENTIALS, rate=False)
            counter["used"] += 1
            step = script.pop(0) if script else "ok"
            if step in ("secondary", "429"):
                msg = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                       f"again. If you reach out to GitHub Support for help, please include the request ID {self.rid}.")
                code = 403 if step == "secondary" else 429
                return self.answer(code, {"message": msg, "documentation_url": SECONDARY_DOCS, "status": str(code)},
                                   [("Retry-After", "1")])
            if step == "primary":  # its own window, two seconds long; the normal count goes on after it
                msg = ("API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
                       f"please include the request ID {self.rid}.")
                return self.answer(403, {"message": msg, "documentation_url": PRIMARY_DOCS, "status": "403"}, [
                    ("x-ratelimit-limit", str(LIMIT)), ("x-ratelimit-remaining", "0"), ("x-ratelimit-used", str(LIMIT)),
                    ("x-ratelimit-resource", "core"), ("x-ratelimit-reset", str(int(time.time()) + 2))], rate=False)
            if step == "500":
                return self.answer(500, {"message": "Server Error"})
            url = urlsplit(self.path)
            m = ISSUES.match(url.path)
            if not m or f"{m[1]}/{m[2]}".lower() != repo.full_name.lower():
                return self.answer(404, NOT_FOUND)
            if m[3] is None and self.command == "GET":
                return self.list_issues(url.query)
            if m[3] is None and self.command == "POST":
                return self.write(None, raw, body, CREATE_DOCS)
            issue = repo.issues.get(int(m[3])) if m[3] and m[3].isdigit() else None
            if issue is None or self.command not in ("GET", "PATCH"):
                return self.answer(404, NOT_FOUND)
            if self.command == "GET":
                return self.answer(200, repo.json(issue))
            return self.write(issue, raw, body, UPDATE_DOCS)

        def list_issues(self, query):
            q = dict(parse_qsl(query, keep_blank_values=True))
            state = q.get("state", "open")
            if state not in ("open", "closed", "all"):
                return self.answer(422, validation_failed([{"resource": "Issue", "field": "state", "code": "invalid"}],
                                                          LIST_DOCS))
            wanted = {n.strip().lower() for n in q.get("labels", "").split(",") if n.strip()}
            found = [i for i in repo.issues.values() if state in ("all", i["state"])
                     and wanted <= {label["name"].lower() for label in i["labels"]}]
            key = "updated" if q.get("sort") == "updated" else "created"
            found.sort(key=lambda i: (i[key], i["number"]), reverse=q.get("direction") != "asc")
            cap = min(100, a.page_cap)
            per_page = int(q["per_page"]) if q.get("per_page", "").isdigit() and int(q["per_page"]) > 0 else 30
            per_page = min(per_page, cap)
            page = int(q["page"]) if q.get("page", "").isdigit() and int(q["page"]) > 0 else 1
            last = max(1, math.ceil(len(found) / per_page))
            # GitHub keeps the other query parameters as given and sets `page` last
            kept = "&".join(p for p in query.split("&") if p and not p.startswith("page="))
            base = f"http://127.0.0.1:{self.server.server_address[1]}{urlsplit(self.path).path}?"
            base += kept + "&" if kept else ""
            rels = []
            if page > 1:
                rels.append((min(page - 1, last), "prev"))
            if page < last:
                rels += [(page + 1, "next"), (last, "last")]
            if page > 1:
                rels.append((1, "first"))
            link = ", ".join(f'<{base}page={n}>; rel="{rel}"' for n, rel in rels)
            items = [repo.json(i) for i in found[(page - 1) * per_page: page * per_page]]
            return self.answer(200, items, [("Link", link)] if link else [])

        def write(self, issue, raw, body, docs):
            if raw.strip() and not isinstance(body, dict):
                return self.answer(400, {"message": "Problems parsing JSON", "documentation_url": docs, "status": "400"})
            errors, clean = fields_errors(body or {}, issue is None)
            if errors:
                return self.answer(422, validation_failed(errors, docs))
            if issue is None:
                issue = repo.create(clean["title"], clean.get("body"), clean.get("labels", []), clean.get("assignees", []))
                url = repo.json(issue)["url"]
                return self.answer(201, repo.json(issue), [("Location", url)])
            now = time.time()
            for k in ("title", "body", "assignees"):
                if k in clean:
                    issue[k] = clean[k]
            if "labels" in clean:
                issue["labels"] = [repo.label(n) for n in clean["labels"]]
            state, reason = clean.get("state", issue["state"]), clean.get("state_reason", issue["state_reason"])
            if state == "closed" and issue["state"] == "open":
                issue["closed"], reason = now, clean.get("state_reason") or "completed"
            elif state == "open" and issue["state"] == "closed":
                issue["closed"], reason = None, "reopened"
            issue["state"], issue["state_reason"], issue["updated"] = state, reason, now
            return self.answer(200, repo.json(issue))

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any

        def log_message(self, *args):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--token", default="ghp_test_token")
    ap.add_argument("--repo", default="acme/shop")
    ap.add_argument("--filler", type=int, default=0)
    ap.add_argument("--script", default="")
    ap.add_argument("--page-cap", type=int, default=100)
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    if host != "127.0.0.1":
        sys.exit(f"github-api.py: listen on 127.0.0.1 only, not `{host}`")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", a.repo):
        sys.exit(f"github-api.py: --repo `{a.repo}` is not OWNER/NAME")
    if a.page_cap < 1:
        sys.exit(f"github-api.py: --page-cap {a.page_cap} must be at least 1")
    script = [x.strip() for x in a.script.split(",") if x.strip()]
    if bad := [x for x in script if x not in SCRIPT_CODES]:
        sys.exit(f"github-api.py: --script `{bad[0]}` is not one of {', '.join(sorted(SCRIPT_CODES))}")
    repo = Repo(a.repo)
    for k in range(1, a.filler + 1):
        repo.create(f"Filler issue {k}", "filler", ["chore"], [])
    out = open(a.out, "a", encoding="utf-8")
    server = HTTPServer((host, int(port)), handler_for(a, repo, script, out))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
