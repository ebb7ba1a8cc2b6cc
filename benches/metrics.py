#!/usr/bin/env python3
"""What Prometheus metrics cost on the hot path (issue 23).

One SQLite database with 1,000 keys; the release server started alternately
without metrics and with TEXTPEAK_METRICS_ADDR set, the same way each time,
and in each start wrk measures GET /api/v1/whoami with one token and
/api/v1/health. The figure is whoami with metrics on against whoami with
metrics off (target >= 0.97), medians over the rounds; health is reported as
the control (it is not verified, so metrics do not touch it: its ratio is
the run's noise), and whoami per health of the same start, on against off,
takes the machine's drift between starts out. A scrape after the rounds checks
that the counters saw the load.

    python3 benches/metrics.py            # 1,000 keys, 3 rounds of 10 s each way
    python3 benches/metrics.py --quick    # proves the harness works (make test)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import REPO, pinned, server_env, wait_until_up, wrk  # noqa: E402

PASSWORD = "metrics benchmark password"
SEED = os.path.join(REPO, "target", "release", "examples", "seed_keys")
SERVER = os.path.join(REPO, "target", "release", "textpeak")


def one_start(env, port, metrics_port, seconds, connections, token):
    """Starts the server (with metrics when metrics_port is set), measures, stops it."""
    if metrics_port:
        env = dict(env, TEXTPEAK_METRICS_ADDR=f"127.0.0.1:{metrics_port}")
    server = subprocess.Popen(pinned(0, [SERVER]), env=env, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/api/v1/health", server)
        wrk(f"{base}/api/v1/whoami", 1, connections, token)  # the token's cold lookup, out of the count
        whoami = wrk(f"{base}/api/v1/whoami", seconds, connections, token)[0]
        health = wrk(f"{base}/api/v1/health", seconds, connections)[0]
        scraped = None
        if metrics_port:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as page:
                scraped = page.read().decode()
        return whoami, health, scraped
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=3260)
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s each way")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 2, 1
    with tempfile.TemporaryDirectory() as data:
        env = server_env(data, args.port, PASSWORD)
        tokens = os.path.join(data, "tokens.txt")
        subprocess.run([SEED, "1000", "1", tokens], check=True, capture_output=True, env=env, cwd=REPO)
        token = open(tokens).readline().strip()
        runs = {"off": [], "on": []}
        scraped = ""
        for round_ in range(args.rounds):
            for mode in ("off", "on"):
                whoami, health, page = one_start(env, args.port, args.port + 1 if mode == "on" else None,
                                                 args.seconds, args.connections, token)
                runs[mode].append((whoami, health))
                scraped = page or scraped
                print(f"round {round_ + 1} metrics {mode:3}: whoami {whoami:8.0f} req/s, health {health:8.0f} req/s",
                      flush=True)
    allowed = next((float(line.split()[-1]) for line in scraped.splitlines()
                    if line.startswith('textpeak_verifications_total{outcome="allowed"}')), 0.0)
    if allowed < 1000:
        sys.exit(f"the metrics did not count the load: {allowed} allowed verifications")
    median = {mode: (statistics.median(w for w, _ in r), statistics.median(h for _, h in r)) for mode, r in runs.items()}
    figures = {
        "whoami_rps": {mode: round(m[0]) for mode, m in median.items()},
        "health_rps": {mode: round(m[1]) for mode, m in median.items()},
        "whoami_on_vs_off": round(median["on"][0] / median["off"][0], 3),
        "health_on_vs_off": round(median["on"][1] / median["off"][1], 3),
        # Each start's whoami against its own health, then on against off: what
        # metrics cost with the machine's drift between starts taken out.
        "whoami_per_health_on_vs_off": round(
            statistics.median(w / h for w, h in runs["on"]) / statistics.median(w / h for w, h in runs["off"]), 3),
        "allowed_counted_last_start": int(allowed),
    }
    print(f"\nwhoami with metrics on / off: {figures['whoami_on_vs_off']:.3f} (target >= 0.97); "
          f"health, the control: {figures['health_on_vs_off']:.3f}; whoami per health, on / off: "
          f"{figures['whoami_per_health_on_vs_off']:.3f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
