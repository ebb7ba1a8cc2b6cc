#!/usr/bin/env python3
"""How fast a change made through one instance reaches another: two release
server instances on one throw-away PostgreSQL cluster.

Each trial creates a key through instance A, uses it on B (so B caches it),
deletes it through A, then polls B until it answers 401; the time is from
A's answer to B's first 401. A second series narrows an IP ACL through A
until B answers 403. Target: p99 at most 50 ms on loopback.

    python3 benches/instances.py              # 200 trials each
    python3 benches/instances.py --quick      # 10 trials each (make test)
"""

import argparse
import http.client
import http.cookiejar
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import CLUSTER, REPO, percentile, server_env, wait_until_up  # noqa: E402

PASSWORD = "propagation benchmark password"


class Console:
    """The console's server functions on one instance, signed in as admin."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.call("sign_in", username="admin", password=PASSWORD)

    def call(self, function, **form):
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(f"{self.base}/rpc/{function}", data=body, headers={"Origin": self.base})
        with self.opener.open(request) as response:
            text = response.read()
        return json.loads(text) if text else None


class Api:
    """GET /api/v1/whoami on one instance, from a given loopback address, on a kept-alive connection."""

    def __init__(self, port, source):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, source_address=(source, 0))

    def status(self, token):
        self.connection.request("GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        response = self.connection.getresponse()
        response.read()
        return response.status


def until(api, token, status, limit=5.0):
    started = time.perf_counter()
    while True:
        if api.status(token) == status:
            return
        if time.perf_counter() - started > limit:
            sys.exit(f"instance B never answered {status} within {limit} s")


def start(port, data, url):
    env = server_env(data, port, PASSWORD, DATABASE_URL=url)
    server = subprocess.Popen([os.path.join(REPO, "target", "release", "textpeak")], env=env, cwd=REPO)
    wait_until_up(f"http://127.0.0.1:{port}/api/v1/health", server)
    return server


def report(label, times, target):
    median, p99 = statistics.median(times), percentile(times, 0.99)
    print(f"{label}: {len(times)} trials, median {median:.2f} ms, p99 {p99:.2f} ms, max {max(times):.2f} ms "
          f"(target p99 <= {target} ms)")
    return median, p99


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--port", type=int, default=3220)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.trials = 10

    cluster = tempfile.mkdtemp(prefix="textpeak-bench-pg.")
    servers = []
    try:
        subprocess.run([CLUSTER, "start", cluster], check=True, capture_output=True)
        url = subprocess.run([CLUSTER, "createdb", cluster, "instances"], check=True, capture_output=True, text=True)
        url = url.stdout.strip()
        with tempfile.TemporaryDirectory() as data_a, tempfile.TemporaryDirectory() as data_b:
            servers.append(start(args.port, data_a, url))
            servers.append(start(args.port + 1, data_b, url))
            a = Console(f"http://127.0.0.1:{args.port}")
            any_acl = next(acl["id"] for acl in a.call("list_api_keys")["ip_acls"] if acl["name"] == "Any address")

            deleted = []
            for trial in range(args.trials):
                # Each trial asks B from an address of its own: a deleted key's token is "unknown"
                # to B, and unknown tokens are limited per address.
                b = Api(args.port + 1, f"127.0.1.{trial % 250 + 1}")
                name = f"propagation {trial}"
                token = a.call("create_api_key", name=name, ip_acl_id=any_acl)["token"]
                until(b, token, 200)
                key = a.call("list_api_keys", q=name)["keys"][0]["id"]
                a.call("delete_api_key", id=key)
                answered = time.perf_counter()
                until(b, token, 401)
                deleted.append((time.perf_counter() - answered) * 1000)

            narrowed = []
            for trial in range(args.trials):
                b = Api(args.port + 1, "127.0.0.1")
                acl_name = f"narrowing {trial}"
                a.call("create_ip_acl", name=acl_name, entries="127.0.0.0/8")
                acl = next(x["id"] for x in a.call("list_ip_acls") if x["name"] == acl_name)
                token = a.call("create_api_key", name=f"narrowed {trial}", ip_acl_id=acl)["token"]
                until(b, token, 200)
                a.call("update_ip_acl", id=acl, name=acl_name, entries="192.0.2.0/24")
                answered = time.perf_counter()
                until(b, token, 403)
                narrowed.append((time.perf_counter() - answered) * 1000)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run([CLUSTER, "remove", cluster], check=False, capture_output=True)

    print()
    report("delete on A, refused (401) on B", deleted, 50)
    report("IP ACL narrowed on A, refused (403) on B", narrowed, 50)


if __name__ == "__main__":
    main()
