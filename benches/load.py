#!/usr/bin/env python3
"""Load benchmark of the TextPeak API against the release server on loopback.

Seeds a fresh database with KEYS API keys, starts target/release/textpeak, and
drives it with wrk: GET /api/v1/whoami (token verified, IP ACL checked) and
GET /api/v1/health (no authentication) in alternating rounds of the same run,
so the ratio compares like with like. Reports requests/s, p99 latency and the
server's peak resident memory (VmHWM).

    python3 benches/load.py                 # 100,000 keys, 3 rounds of 10 s
    python3 benches/load.py --quick         # proves the harness works (make test)
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIN = (os.cpu_count() or 1) >= 2


def parse_latency(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def pinned(cpu, command):
    """Runs on one CPU when there are two or more, so server and load generator do not preempt each other."""
    return ["taskset", "-c", str(cpu), *command] if PIN else command


def wrk(url, seconds, connections, token=None):
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    command = pinned(1, ["wrk", *headers, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = parse_latency(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        sys.exit(f"{url}: {non2xx.group(1)} failed responses\n{out}")
    return rps, p99


def wait_until_up(url, process, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit("the server stopped during start-up")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("the server did not start")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=3200)
    parser.add_argument("--quick", action="store_true", help="1,000 keys, 1 round of 2 s")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.keys, args.seconds, args.rounds = 1_000, 2, 1

    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as data:
        env = dict(
            os.environ,
            TEXTPEAK_DATA_DIR=data,
            TEXTPEAK_ADMIN_PASSWORD="load benchmark password",
            LEPTOS_SITE_ADDR=f"127.0.0.1:{args.port}",
            LEPTOS_SITE_ROOT=os.path.join(REPO, "target", "site"),
            LEPTOS_ENV="PROD",
            RUST_LOG="warn",
        )
        seed = os.path.join(REPO, "target", "release", "examples", "seed_keys")
        started = time.time()
        token = subprocess.run([seed, str(args.keys)], check=True, capture_output=True, text=True, env=env, cwd=REPO).stdout.strip()
        print(f"seeded {args.keys:,} keys in {time.time() - started:.1f} s", flush=True)

        server = subprocess.Popen(pinned(0, [os.path.join(REPO, "target", "release", "textpeak")]), env=env, cwd=REPO)
        try:
            wait_until_up(f"{base}/api/v1/health", server)
            request = urllib.request.Request(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
            answer = json.load(urllib.request.urlopen(request))
            assert answer["ip_acl"] == "Any address", answer
            results = {"health": [], "whoami": []}
            for round_ in range(args.rounds):
                for name, token_for in (("health", None), ("whoami", token)):
                    rps, p99 = wrk(f"{base}/api/v1/{name}", args.seconds, args.connections, token_for)
                    results[name].append((rps, p99))
                    print(f"round {round_ + 1} {name:7} {rps:10.0f} req/s  p99 {p99:.3f} ms", flush=True)
            rss = peak_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)

    health_rps = statistics.median(r for r, _ in results["health"])
    whoami_rps = statistics.median(r for r, _ in results["whoami"])
    health_p99 = statistics.median(p for _, p in results["health"])
    whoami_p99 = statistics.median(p for _, p in results["whoami"])
    figures = {
        "machine": f"{os.cpu_count()} CPUs, {cpu_model()}",
        "keys": args.keys,
        "rounds": args.rounds,
        "seconds_per_run": args.seconds,
        "connections": args.connections,
        "pinned": PIN,
        "health_rps": round(health_rps),
        "whoami_rps": round(whoami_rps),
        "ratio": round(whoami_rps / health_rps, 3),
        "health_p99_ms": round(health_p99, 3),
        "whoami_p99_ms": round(whoami_p99, 3),
        "peak_rss_mib": round(rss, 1),
    }
    print()
    print(f"machine: {figures['machine']}")
    placement = "server on CPU 0, wrk on CPU 1" if PIN else "unpinned"
    print(f"{args.keys:,} keys; wrk -t1 -c{args.connections}; {placement}; median of {args.rounds} rounds of {args.seconds} s")
    print(f"GET /api/v1/health  {health_rps:10.0f} req/s  p99 {health_p99:.3f} ms")
    print(f"GET /api/v1/whoami  {whoami_rps:10.0f} req/s  p99 {whoami_p99:.3f} ms")
    print(f"whoami / health throughput: {figures['ratio']:.3f} (target >= 0.8); whoami p99 target < 2 ms")
    print(f"server peak RSS: {rss:.1f} MiB")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
