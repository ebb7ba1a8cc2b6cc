#!/usr/bin/env python3
"""User-space instructions per request of /api/v1/health and /api/v1/whoami, under callgrind.

Throughput on a shared machine moves by tens of percent between rounds; the
instructions a request executes do not. Starts the release server (or the
binary given) under `valgrind --tool=callgrind` with instrumentation off,
warms it, then for each endpoint switches instrumentation on around a batch
of requests on one keep-alive connection and divides the dump's total by
the batch. The kernel's share (loopback TCP) is not counted: it is about the
same for both endpoints. Needs valgrind (`apt install valgrind`).

    python3 benches/instructions.py                         # target/release/textpeak
    python3 benches/instructions.py /tmp/textpeak.before    # another build, for an A/B
    python3 benches/instructions.py --scoped                # whoami on a key with permissions and a limit
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import REPO, one_connection, server_env, wait_until_up  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", nargs="?", default=os.path.join(REPO, "target", "release", "textpeak"))
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--port", type=int, default=3240)
    parser.add_argument("--scoped", action="store_true",
                        help="whoami on a key restricted to two permissions with a rate limit far above the load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = server_env(data, args.port, "instructions benchmark password",
                         DATABASE_URL=f"sqlite://{os.path.join(data, 'textpeak.db')}?mode=rwc")
        seed = os.path.join(REPO, "target", "release", "examples", "seed_keys")
        token = subprocess.run([seed, *(["--scoped"] if args.scoped else []), "100"], env=env, capture_output=True, text=True, check=True,
                               cwd=REPO).stdout.strip()
        out = os.path.join(data, "callgrind.out")
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", args.binary],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        try:
            wait_until_up(f"http://127.0.0.1:{args.port}/api/v1/health", server, timeout=120)
            batch(args.port, "/api/v1/whoami", token, 200)
            batch(args.port, "/api/v1/health", None, 200)
            figures = {"health": [], "whoami": []}
            for _ in range(args.batches):
                for name, token_for in (("health", None), ("whoami", token)):
                    figures[name].append(measure(server.pid, out, args.port, f"/api/v1/{name}", token_for,
                                                 args.requests))
        finally:
            server.terminate()
            server.wait(timeout=60)
    health, whoami = min(figures["health"]), min(figures["whoami"])
    kind = "scoped key" if args.scoped else "plain key"
    print(f"{args.binary}: instructions per request, {args.batches} batches of {args.requests}, {kind}")
    for name, values in figures.items():
        print(f"  {name:7} " + ", ".join(f"{v:,.0f}" for v in values))
    print(f"  health / whoami: {health / whoami:.3f}")


def batch(port, path, token, count):
    one_connection(port, path, [token] * count, "instructions")


def measure(pid, out, port, path, token, count):
    """Instructions per request of one batch: zeroed, instrumented, dumped."""
    control = lambda *a: subprocess.run(["callgrind_control", *a, str(pid)], capture_output=True, check=True)  # noqa: E731
    control("-z")
    control("-i", "on")
    batch(port, path, token, count)
    control("-i", "off")
    before = set(glob.glob(out + ".*"))
    control("-d")
    deadline = time.time() + 30
    while not (dumped := set(glob.glob(out + ".*")) - before) and time.time() < deadline:
        time.sleep(0.1)
    if not dumped:
        sys.exit("callgrind wrote no dump")
    time.sleep(0.5)  # the dump is written in one go, but let it finish
    with open(max(dumped, key=os.path.getmtime)) as f:
        for line in f:
            if line.startswith("totals:"):
                return int(line.split()[1]) / count
    sys.exit("the dump has no totals")


if __name__ == "__main__":
    main()
