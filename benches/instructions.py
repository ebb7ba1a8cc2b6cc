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
    python3 benches/instructions.py /tmp/textpeak.before --seed /tmp/seed_keys.before   # another build, for an A/B
    python3 benches/instructions.py --scoped                # whoami on a key with permissions and a limit
    python3 benches/instructions.py --rotate 10000 --cache-sim   # 10,000 cached tokens in turn, with
                                                                 # simulated cache misses (last level)
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
    parser.add_argument("--seed", default=os.path.join(REPO, "target", "release", "examples", "seed_keys"),
                        help="the seed_keys of the binary's own build (its schema)")
    parser.add_argument("--rotate", type=int, default=0, metavar="N",
                        help="whoami over N cached tokens in turn (each used once before), as the rotating load runs")
    parser.add_argument("--cache-sim", action="store_true",
                        help="also count simulated first- and last-level cache misses per request (callgrind --cache-sim)")
    args = parser.parse_args()
    if args.rotate and args.requests > args.rotate:
        sys.exit("--requests must not exceed --rotate: each token is used once per batch")
    with tempfile.TemporaryDirectory() as data:
        env = server_env(data, args.port, "instructions benchmark password",
                         DATABASE_URL=f"sqlite://{os.path.join(data, 'textpeak.db')}?mode=rwc")
        seed = args.seed
        scoped = ["--scoped"] if args.scoped else []
        tokens_file = os.path.join(data, "tokens.txt")
        keys = [str(max(100, args.rotate)), str(args.rotate), tokens_file] if args.rotate else ["100"]
        token = subprocess.run([seed, *scoped, *keys], env=env, capture_output=True, text=True, check=True,
                               cwd=REPO).stdout.strip()
        tokens = [line.strip() for line in open(tokens_file) if line.strip()] if args.rotate else [token]
        out = os.path.join(data, "callgrind.out")
        cache = ["--cache-sim=yes"] if args.cache_sim else []
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", *cache, f"--callgrind-out-file={out}",
             args.binary],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        try:
            wait_until_up(f"http://127.0.0.1:{args.port}/api/v1/health", server, timeout=120)
            batch(args.port, "/api/v1/health", [None], 200)
            # Every token cached once, so the cache holds all N as in a rotating run.
            batch(args.port, "/api/v1/whoami", tokens, len(tokens) if args.rotate else 200)
            figures = {"health": [], "whoami": []}
            for b in range(args.batches):
                # A batch's own tokens read again just before it (valgrind is slow, the
                # cache's TTL is 30 s): each is used once in between, as in the rotating run.
                mine = tokens[b * args.requests % len(tokens):][:args.requests] if args.rotate else tokens
                if args.rotate:
                    batch(args.port, "/api/v1/whoami", mine, len(mine))
                for name, token_for in (("health", [None]), ("whoami", mine)):
                    figures[name].append(measure(server.pid, out, args.port, f"/api/v1/{name}", token_for,
                                                 args.requests))
        finally:
            server.terminate()
            server.wait(timeout=60)
    kind = "scoped key" if args.scoped else "plain key"
    over = f", {args.rotate:,} tokens in turn" if args.rotate else ""
    print(f"{args.binary}: per request, {args.batches} batches of {args.requests}, {kind}{over}")
    for name, values in figures.items():
        print(f"  {name:7} instructions " + ", ".join(f"{v['Ir']:,.0f}" for v in values)
              + ("; first-level misses " + ", ".join(f"{v['L1miss']:.0f}" for v in values)
                 + "; last-level misses " + ", ".join(f"{v['LLmiss']:.2f}" for v in values) if args.cache_sim else ""))
    health = min(v["Ir"] for v in figures["health"])
    whoami = min(v["Ir"] for v in figures["whoami"])
    print(f"  health / whoami (instructions): {health / whoami:.3f}")


def batch(port, path, tokens, count):
    """`count` requests, the tokens in turn (`None`: without one)."""
    one_connection(port, path, [tokens[i % len(tokens)] for i in range(count)], "instructions")


def measure(pid, out, port, path, tokens, count):
    """Per request of one batch: instructions (`Ir`) and, with the cache
    simulated, last-level misses (`LLmiss`: reads, writes and fetches)."""
    control = lambda *a: subprocess.run(["callgrind_control", *a, str(pid)], capture_output=True, check=True)  # noqa: E731
    control("-z")
    control("-i", "on")
    batch(port, path, tokens, count)
    control("-i", "off")
    before = set(glob.glob(out + ".*"))
    control("-d")
    deadline = time.time() + 30
    while not (dumped := set(glob.glob(out + ".*")) - before) and time.time() < deadline:
        time.sleep(0.1)
    if not dumped:
        sys.exit("callgrind wrote no dump")
    time.sleep(0.5)  # the dump is written in one go, but let it finish
    events = None
    with open(max(dumped, key=os.path.getmtime)) as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            if line.startswith("totals:") and events:
                totals = dict(zip(events, (int(n) for n in line.split()[1:])))
                last_level = sum(totals.get(e, 0) for e in ("ILmr", "DLmr", "DLmw"))
                first_level = sum(totals.get(e, 0) for e in ("I1mr", "D1mr", "D1mw"))
                return {"Ir": totals["Ir"] / count, "L1miss": first_level / count, "LLmiss": last_level / count}
    sys.exit("the dump has no totals")


if __name__ == "__main__":
    main()
