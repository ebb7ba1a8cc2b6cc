#!/usr/bin/env python3
"""The Overview and the Audit Log's filters at scale (issue 24), with wrk, in
one run: small (100 keys, 1,000 audit entries) against large (100,000 keys,
1,000,000 entries).

Each size seeds a fresh SQLite database (examples/seed_keys.rs, then the
usage and audit tables directly): 90 days of traffic for every key in the
per-day rollups the Overview reads (key_usage_days, account_usage_days, and
each key's week in key_usage_weeks, summed as the flush keeps it), 90
days of hourly counts for 100 of the keys (a key's page reads those; the
Overview does not), and the audit entries spread over 90 days among three
admins and every action. Then it times, on one connection:

- GET / (the Overview, rendered on the server) and POST /rpc/overview;
- POST /rpc/list_audit_log: unfiltered, by Action, by Admin and Action,
  by Key or ACL (contains; a common name, and one no entry has, which
  the trigram index answers), by dates, and a page deep in the log.

Target: each large figure at most 1.5x the small one. What the Overview
reads from the database is reused for 10 s; a render that reads it again
(after a change, which makes the copy stale) is timed on its own line:
the median of 21, each right after a new IP ACL.

    python3 benches/overview.py
    python3 benches/overview.py --quick    # 2,000 keys, 20,000 entries, 1 s each (make test)
"""

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import REPO, pinned, server_env, wait_until_up  # noqa: E402
from table import PASSWORD, sign_in, wrk_mean_ms  # noqa: E402

SEED = os.path.join(REPO, "target", "release", "examples", "seed_keys")
SERVER = os.path.join(REPO, "target", "release", "textpeak")
DAY_MS = 86_400_000
# Renders timed one by one after a change (the median is reported, the slowest as p99).
COLD_RENDERS = 21
ACTIONS = ["api_key_created", "api_key_updated", "api_key_deleted", "api_key_revealed", "api_key_rolled",
           "api_key_disabled", "api_key_enabled", "ip_acl_created", "sign_in", "sign_out"]


def fill(database, keys, entries, now_ms):
    today = now_ms // DAY_MS
    db = sqlite3.connect(database)
    rng = random.Random(24)
    ids = [row[0] for row in db.execute("SELECT id FROM api_keys ORDER BY id")]
    account = db.execute("SELECT account_id FROM api_keys LIMIT 1").fetchone()[0]
    with db:
        for day in range(today - 89, today + 1):
            db.executemany(
                "INSERT INTO key_usage_days (key_id, day, account_id, requests) VALUES (?, ?, ?, ?)",
                ((key, day, account, rng.randrange(1, 5000)) for key in ids),
            )
        # Each key's week to today, as the flush leaves it (migration 11 fills it the same way).
        db.execute(
            "INSERT INTO key_usage_weeks (key_id, account_id, through_day, requests) "
            "SELECT key_id, account_id, ?, SUM(requests) FROM key_usage_days WHERE day > ? GROUP BY key_id, account_id",
            (today, today - 7),
        )
        db.executemany(
            "INSERT INTO account_usage_days (account_id, day, allowed, refused, would_refuse, rate_limited) "
            "VALUES (?, ?, ?, ?, 0, ?)",
            ((account, day, 2500 * keys, 10 * keys, keys) for day in range(today - 89, today + 1)),
        )
        first_hour = (today - 89) * 24
        db.executemany(
            "INSERT INTO key_usage_hours (key_id, hour, allowed, refused, would_refuse) VALUES (?, ?, 100, 1, 0)",
            ((key, hour) for key in ids[:100] for hour in range(first_hour, first_hour + 90 * 24)),
        )
        admins = ["admin", "second", "third"]
        span = 90 * DAY_MS
        db.executemany(
            "INSERT INTO audit_entries (account_id, at, admin, client_ip, action, subject, detail) "
            "VALUES (?, ?, ?, '192.0.2.10', ?, ?, NULL)",
            ((account, now_ms - span + i * span // entries, admins[i % 3], ACTIONS[i % len(ACTIONS)],
              f"load {rng.randrange(keys)}") for i in range(entries)),
        )
    db.execute("ANALYZE")
    db.close()


def measure(keys, entries, seconds, port):
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = server_env(data, port, PASSWORD)
        started = time.time()
        subprocess.run([SEED, str(keys)], check=True, capture_output=True, env=env, cwd=REPO)
        now_ms = int(time.time() * 1000)
        fill(os.path.join(data, "textpeak.db"), keys, entries, now_ms)
        print(f"seeded {keys:,} keys and {entries:,} audit entries in {time.time() - started:.1f} s", flush=True)
        server = subprocess.Popen(pinned(0, [SERVER]), env=env, cwd=REPO)
        try:
            wait_until_up(f"{base}/api/v1/health", server)
            cookie = sign_in(base)
            page = {"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}
            rpc = dict(page, Origin=base)
            today = time.strftime("%Y-%m-%d", time.gmtime(now_ms / 1000))
            week_ago = time.strftime("%Y-%m-%d", time.gmtime(now_ms / 1000 - 7 * 86400))
            # The entry in the middle of the log starts "a page deep in the log".
            db = sqlite3.connect(os.path.join(data, "textpeak.db"))
            at, entry = db.execute(
                "SELECT at, id FROM audit_entries ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?", (entries // 2,)
            ).fetchone()
            db.close()
            views = {
                "unfiltered": {},
                "by Action": {"view[action]": "api_key_deleted"},
                "by Admin and Action": {"view[admin]": "second", "view[action]": "api_key_rolled"},
                "by Key or ACL": {"view[q]": "load 7"},
                # Found in few entries or none: the contains filter has no index to read.
                "by Key or ACL, rare": {"view[q]": f"load {keys - 1}x"},
                "by dates (7 days)": {"view[from]": week_ago, "view[to]": today},
                "deep page": {"view[before]": f"{at}.{entry}"},
            }
            # A render after a change reads the database again (what it read is
            # otherwise reused for 10 s, see overview.rs): each of these follows
            # a new IP ACL, which makes the copy stale.
            cold = []
            for i in range(COLD_RENDERS):
                form = urllib.parse.urlencode({"name": f"Bench {i}", "entries": "192.0.2.0/24"}).encode()
                headers = dict(rpc, **{"Content-Type": "application/x-www-form-urlencoded"})
                urllib.request.urlopen(urllib.request.Request(f"{base}/rpc/create_ip_acl", form, headers)).read()
                started = time.perf_counter()
                urllib.request.urlopen(urllib.request.Request(f"{base}/", headers=page)).read()
                cold.append((time.perf_counter() - started) * 1000)
            results = {
                "GET / (Overview), after a change": (statistics.median(cold), max(cold), 0.0),
                "GET / (Overview)": wrk_mean_ms(f"{base}/", seconds, page),
                "POST /rpc/overview": wrk_mean_ms(f"{base}/rpc/overview", seconds, rpc, body=""),
            }
            for label, form in views.items():
                body = urllib.parse.urlencode(form)
                results[f"audit log, {label}"] = wrk_mean_ms(f"{base}/rpc/list_audit_log", seconds, rpc, body=body)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--port", type=int, default=3290)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.keys, args.entries = 1, 2_000, 20_000
    small = measure(100, 1_000, args.seconds, args.port)
    large = measure(args.keys, args.entries, args.seconds, args.port)
    print()
    print(f"{'what':40} {'100 keys / 1,000':>20} {f'{args.keys:,} / {args.entries:,}':>24} {'ratio':>7}")
    worst = 0.0
    for label, (mean_small, p99_small, _) in small.items():
        mean_large, p99_large, _ = large[label]
        ratio = mean_large / mean_small
        worst = max(worst, ratio)
        print(f"{label:40} {mean_small:11.2f} ms mean {mean_large:15.2f} ms mean {ratio:6.2f}x"
              f"  (p99 {p99_small:.2f} / {p99_large:.2f} ms)")
    print(f"worst ratio {worst:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
