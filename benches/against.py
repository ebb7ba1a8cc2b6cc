#!/usr/bin/env python3
"""whoami / health of this build against another build's, side by side (issue 22).

Issue 22 asks that a key with permissions and a rate limit keep "at least
the ratio of a plain key today": the ratio the plain key had on the day the
issue was filed, which this machine cannot measure again on another day
(its speed moves by tens of percent from one hour to the next). So both
builds run at once, each with its own database and 10,000 keys, the server
on CPU 0 and wrk on CPU 1, and take turns in rounds:

    the other build:  whoami over its KEYS plain tokens, then health
    this build:       whoami over KEYS restricted and limited tokens,
                      whoami over KEYS plain tokens, then health

each whoami series right after a warm-up that uses each of its tokens once
(the 30-s cache TTL is longer than a series), the builds going first in
turn. A round's ratios divide by the health of the same server in the same
round; the figures are the medians of the rounds'.

What it cannot separate: the older build has no metrics to wait for its
usage flush (every 60 s, seconds of work for the keys used in the minute),
and each server's flush falls in whichever windows follow, the other
server's included. Read the rounds, not only the medians (BENCHMARKS.md,
"A restricted key's own costs, taken apart").

    git worktree add /tmp/base22 5c77b7b   # the code the day issue 22 was filed
    RUSTFLAGS='--cfg erase_components' CARGO_TARGET_DIR=/tmp/base22/target cargo build --release \\
      --no-default-features --features ssr,sqlite,postgres --bin textpeak --example seed_keys
    python3 benches/against.py --binary /tmp/base22/target/release/textpeak \\
      --seed /tmp/base22/target/release/examples/seed_keys --database postgres
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import CLUSTER, REPO, pinned, server_env, wait_until_up, warm, wrk  # noqa: E402

PASSWORD = "side by side benchmark password"


def seed(seed_keys, env, count, tokens_file, scoped=False):
    command = [seed_keys, *(["--scoped"] if scoped else []), str(count), str(count), tokens_file]
    subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=REPO)
    with open(tokens_file) as f:
        return [line.strip() for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True, help="the other build's server")
    parser.add_argument("--seed", required=True, help="the other build's seed_keys (its schema)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=3260)
    args = parser.parse_args()
    this_server = os.path.join(REPO, "target", "release", "textpeak")
    this_seed = os.path.join(REPO, "target", "release", "examples", "seed_keys")

    cluster = tempfile.mkdtemp(prefix="textpeak-bench-pg.") if args.database == "postgres" else None
    servers = []
    try:
        if cluster:
            subprocess.run([CLUSTER, "start", cluster], check=True, capture_output=True)
        with tempfile.TemporaryDirectory() as other_data, tempfile.TemporaryDirectory() as this_data:
            builds = {}
            for i, (name, data, binary, seed_keys) in enumerate(
                (("other", other_data, args.binary, args.seed), ("this", this_data, this_server, this_seed))
            ):
                if cluster:
                    url = subprocess.run([CLUSTER, "createdb", cluster, f"bench_{name}"], check=True,
                                         capture_output=True, text=True).stdout.strip()
                else:
                    url = f"sqlite://{os.path.join(data, 'textpeak.db')}?mode=rwc"
                env = server_env(data, args.port + i, PASSWORD, DATABASE_URL=url)
                series = {"plain": (os.path.join(data, "plain.txt"), False)}
                if name == "this":
                    series = {"scoped": (os.path.join(data, "scoped.txt"), True), **series}
                lists = {kind: (path, seed(seed_keys, env, args.keys, path, scoped))
                         for kind, (path, scoped) in series.items()}
                servers.append(subprocess.Popen(pinned(0, [binary]), env=env, cwd=REPO,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                wait_until_up(f"http://127.0.0.1:{args.port + i}/api/v1/health", servers[-1])
                builds[name] = (args.port + i, lists)

            rounds = []
            for round_ in range(args.rounds):
                one = {}
                order = ["other", "this"] if round_ % 2 == 0 else ["this", "other"]
                for name in order:
                    port, lists = builds[name]
                    base = f"http://127.0.0.1:{port}/api/v1"
                    for kind, (path, tokens) in lists.items():
                        warm(port, tokens)
                        one[f"{name} {kind}"] = wrk(f"{base}/whoami", args.seconds, args.connections,
                                                    tokens_file=path)[0]
                    plain_path = lists["plain"][0]
                    one[f"{name} health"] = wrk(f"{base}/health", args.seconds, args.connections,
                                                tokens_file=plain_path)[0]
                rounds.append(one)
                ratios = ratios_of(one)
                print(f"{args.database} round {round_ + 1}: "
                      + ", ".join(f"{k} {v:.0f}" for k, v in one.items())
                      + " | " + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()), flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        if cluster:
            subprocess.run([CLUSTER, "remove", cluster], check=False, capture_output=True)

    per_round = [ratios_of(one) for one in rounds]
    print(f"\n{args.database}, {args.keys:,} rotating tokens, medians of {len(rounds)} rounds (whoami / health):")
    for key in per_round[0]:
        values = [r[key] for r in per_round]
        print(f"  {key:32} {statistics.median(values):.3f}  ({', '.join(f'{v:.3f}' for v in values)})")


def ratios_of(one):
    return {
        "other build, plain key": one["other plain"] / one["other health"],
        "this build, plain key": one["this plain"] / one["this health"],
        "this build, restricted and limited": one["this scoped"] / one["this health"],
    }


if __name__ == "__main__":
    main()
