#!/usr/bin/env python3
"""The API Keys table at scale: the server-rendered page and the list server
function with 100 and with 100,000 keys, measured with wrk in the same run.

For each size it seeds a fresh database (examples/seed_keys.rs, through the
console's own service code), starts the release server, signs in, and times
three views: the first page, a search that finds a few keys among all of
them, and a page deep in the list (keyset cursor at the middle key). The
figure that matters is the ratio of the 100,000-key time to the 100-key time
(target: at most 1.5).

    python3 benches/table.py            # 5 s per measurement
    python3 benches/table.py --quick    # proves the harness works (make test)
"""

import argparse
import contextlib
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import REPO, pinned, server_env, wait_until_up  # noqa: E402

PASSWORD = "table benchmark password"


def wrk_mean_ms(url, seconds, headers, body=None):
    """Mean and p99 latency (ms) and requests/s of one wrk run with one connection."""
    args = []
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    script = None
    if body is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n')
        script.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
        script.close()
        args += ["-s", script.name]
    command = pinned(1, ["wrk", *args, "-t1", "-c1", f"-d{seconds}s", "--latency", url])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    if script:
        os.unlink(script.name)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        sys.exit(f"{url}: {bad.group(1)} failed responses\n{out}")

    def ms(text):
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    mean = ms(re.search(r"Latency\s+(\S+)", out).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return mean, p99, rps


@contextlib.contextmanager
def signed_in_server(port, keys):
    """The release server on a fresh database seeded with `keys` keys, signed in as its admin.

    Yields `base`, `cookie`, `data` (the data directory) and `seed_s` (seconds the seeding took)."""
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = server_env(data, port, PASSWORD)
        seed = os.path.join(REPO, "target", "release", "examples", "seed_keys")
        started = time.time()
        subprocess.run([seed, str(keys)], check=True, capture_output=True, env=env, cwd=REPO)
        seed_s = time.time() - started
        server = subprocess.Popen(pinned(0, [os.path.join(REPO, "target", "release", "textpeak")]), env=env, cwd=REPO)
        try:
            wait_until_up(f"{base}/api/v1/health", server)
            yield types.SimpleNamespace(base=base, cookie=sign_in(base), data=data, seed_s=seed_s)
        finally:
            server.terminate()
            server.wait(timeout=30)


def sign_in(base):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    body = urllib.parse.urlencode({"username": "admin", "password": PASSWORD}).encode()
    request = urllib.request.Request(f"{base}/rpc/sign_in", data=body, headers={"Origin": base})
    opener.open(request)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def list_keys(base, cookie, form):
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(
        f"{base}/rpc/list_api_keys", data=body, headers={"Origin": base, "Cookie": cookie}
    )
    return json.load(urllib.request.urlopen(request))


def traffic_for(database_file, key_id, now_ms):
    """30 days of traffic at one request a second for one key, as the flush job would have written it."""
    import sqlite3

    hour_ms = 3_600_000
    first = now_ms // hour_ms - 30 * 24 + 1
    db = sqlite3.connect(database_file)
    with db:
        db.executemany(
            "INSERT INTO key_usage_hours (key_id, hour, allowed, refused, would_refuse) VALUES (?, ?, 3590, 10, 0)",
            [(key_id, hour) for hour in range(first, first + 30 * 24)],
        )
        db.executemany(
            "INSERT INTO key_addresses (key_id, ip, requests, refused, would_refuse, last_seen) VALUES (?, ?, 100000, 100, 0, ?)",
            [(key_id, f"198.51.100.{i}", now_ms - i * 60_000) for i in range(1, 21)],
        )
        db.executemany(
            "INSERT INTO key_refusals (key_id, at, ip, reason, report_only) VALUES (?, ?, '203.0.113.9', 'ip_not_allowed', 0)",
            [(key_id, now_ms - i * 1000) for i in range(50)],
        )
    db.close()


def measure(keys, seconds, port):
    with signed_in_server(port, keys) as server:
        base, cookie = server.base, server.cookie
        print(f"seeded {keys:,} keys in {server.seed_s:.1f} s", flush=True)
        # The middle key by creation order is where "a page deep in the list" starts.
        middle = f"load {keys // 2}"
        found = list_keys(base, cookie, {"q": middle})["keys"]
        deep = next(k["id"] for k in found if k["name"] == middle)
        # Names are "load 0" … "load N-1": this search finds a handful of keys.
        search = f"load {keys // 2 + 7}"
        hits = len(list_keys(base, cookie, {"q": search})["keys"])
        views = {
            "first page": {},
            f"search ({hits} hits)": {"q": search},
            "deep page": {"after": str(deep)},
        }
        headers = {"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}
        traffic_for(os.path.join(server.data, "textpeak.db"), deep, int(time.time() * 1000))
        results = {}
        for label, form in views.items():
            query = urllib.parse.urlencode(form)
            page = f"{base}/settings/api-keys" + (f"?{query}" if query else "")
            results[("page", label)] = wrk_mean_ms(page, seconds, headers)
            rpc_headers = dict(headers, Origin=base)
            results[("rpc", label)] = wrk_mean_ms(f"{base}/rpc/list_api_keys", seconds, rpc_headers, body=query)
        # A key's page, for the key with 30 days of traffic, against the table's first page.
        results[("key page", "key page")] = wrk_mean_ms(f"{base}/settings/api-keys/{deep}", seconds, headers)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=3210)
    parser.add_argument("--quick", action="store_true", help="1 s per view, 2,000 keys as the large table")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.large = 1, 2_000
    small = measure(100, args.seconds, args.port)
    large = measure(args.large, args.seconds, args.port)
    print()
    print(f"{'what':42} {'100 keys':>18} {f'{args.large:,} keys':>18} {'ratio':>7}")
    worst = 0.0
    for (kind, label), (mean_small, p99_small, _) in small.items():
        if kind == "key page":
            continue
        large_label = next(l for (k, l) in large if k == kind and l.split(" (")[0] == label.split(" (")[0])
        mean_large, p99_large, _ = large[(kind, large_label)]
        ratio = mean_large / mean_small
        worst = max(worst, ratio)
        name = ("GET /settings/api-keys, " if kind == "page" else "POST /rpc/list_api_keys, ") + label.split(" (")[0]
        print(f"{name:42} {mean_small:8.2f} ms mean {mean_large:8.2f} ms mean {ratio:6.2f}x  (p99 {p99_small:.2f} / {p99_large:.2f} ms)")
    print(f"worst ratio {worst:.2f} (target <= 1.5)")
    for size, results in (("100", small), (f"{args.large:,}", large)):
        key_page = results[("key page", "key page")][0]
        table_page = results[("page", "first page")][0]
        print(f"with {size} keys: a key's page (30 days at 1 request/s) {key_page:.2f} ms, the API Keys page {table_page:.2f} ms: "
              f"{key_page / table_page:.2f}x (target <= 1.5)")


if __name__ == "__main__":
    main()
