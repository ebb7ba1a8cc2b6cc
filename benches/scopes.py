#!/usr/bin/env python3
"""What permissions and a rate limit cost on the hot path, and whether one
limit holds across two instances (issue 22).

1. On SQLite, then on a throw-away PostgreSQL cluster: KEYS plain keys and
   KEYS keys restricted to sms:send,sms:read with a limit of 1,000,000 per
   second (far above the load). Alternating wrk rounds on one server, so the
   ratios compare like with like:
     - GET /api/v1/health, whoami with a plain key, whoami with a restricted
       and limited key, and GET /api/v1/check?permission=sms:send with it;
     - then, in ROUNDS rounds of their own, whoami over KEYS distinct plain
       tokens and over KEYS restricted and limited ones (a Lua script rotates
       them, each series right after a warm-up that uses every token once),
       and health through the same script; the medians of the rounds' ratios
       (ROTATING rounds, the two kinds taking turns to go first), and the
       median of each round's scoped whoami over its plain whoami.
   Targets: scoped whoami / health at least plain whoami / health; check /
   scoped whoami at least 0.95.
2. Two instances on one PostgreSQL, one key limited to 1,000 requests per
   second, wrk on both at once for 30 s: the requests let through in each
   10-second window (counted by the answer's second, across both
   instances), as a ratio to the limit. Target 0.9 to 1.1 (plus one burst).

    python3 benches/scopes.py             # 10,000 keys of each kind, 3 rounds of 10 s, 6 rotating
    python3 benches/scopes.py --quick     # proves the harness works (make test)
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import CLUSTER, REPO, database, pinned, server_env, wait_until_up, warm, wrk  # noqa: E402
from instances import Console  # noqa: E402

from instances import PASSWORD  # noqa: E402  (the Console helper signs in with it)
SEED = os.path.join(REPO, "target", "release", "examples", "seed_keys")
SERVER = os.path.join(REPO, "target", "release", "textpeak")


def seed(env, count, tokens_file, scoped):
    command = [SEED, *(["--scoped"] if scoped else []), str(count), str(count), tokens_file]
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=REPO).stdout.strip()


def get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        return response.status, json.load(response), response.headers


def flush_metrics(metrics_port):
    """How many usage flushes the server has run, and their seconds in all."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as page:
        text = page.read().decode()
    found = [re.search(rf"^textpeak_usage_flush_duration_seconds_{part}(?:{{[^}}]*}})?\s+(\S+)$", text, re.M)
             for part in ("count", "sum")]
    # Not on the page before the first flush (a minute after start).
    return tuple(float(m.group(1)) if m else 0.0 for m in found)


def after_flush(metrics_port, timeout=75):
    """Waits for the next usage flush to end; returns how long it took (s)."""
    count, total = flush_metrics(metrics_port)
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.1)
        now_count, now_total = flush_metrics(metrics_port)
        if now_count > count:
            return (now_total - total) / (now_count - count)
    sys.exit(f"no usage flush in {timeout} s")


def costs(kind, keys, seconds, rounds, rotating, connections, port, synced=True):
    """Part 1 on one database: the figures, as a dict."""
    base = f"http://127.0.0.1:{port}"
    metrics_port = port + 20
    with tempfile.TemporaryDirectory() as data, database(kind, data) as url:
        env = server_env(data, port, PASSWORD, DATABASE_URL=url, TEXTPEAK_METRICS_ADDR=f"127.0.0.1:{metrics_port}")
        plain_file, scoped_file = os.path.join(data, "plain.txt"), os.path.join(data, "scoped.txt")
        plain = seed(env, keys, plain_file, scoped=False)
        scoped = seed(env, keys, scoped_file, scoped=True)
        server = subprocess.Popen(pinned(0, [SERVER]), env=env, cwd=REPO)
        try:
            wait_until_up(f"{base}/api/v1/health", server)
            status, body, headers = get(f"{base}/api/v1/whoami", scoped)
            assert status == 200 and body["permissions"] == ["sms:send", "sms:read"], body
            assert headers["RateLimit-Limit"] == "1000000", dict(headers)
            status, body, _ = get(f"{base}/api/v1/check?permission=sms:send", scoped)
            assert status == 200, body
            runs = {
                "health": (f"{base}/api/v1/health", None),
                "whoami plain": (f"{base}/api/v1/whoami", plain),
                "whoami scoped": (f"{base}/api/v1/whoami", scoped),
                "check scoped": (f"{base}/api/v1/check?permission=sms:send", scoped),
            }
            results = {name: [] for name in runs}
            for round_ in range(rounds):
                for name, (target, token) in runs.items():
                    rps, p99 = wrk(target, seconds, connections, token)
                    results[name].append(rps)
                    print(f"{kind} round {round_ + 1} {name:14} {rps:10.0f} req/s  p99 {p99:.3f} ms", flush=True)
            # Rounds, as load.py's: each whoami series right after its own warm-up (every
            # token used once, so none is looked up inside the window), then health through
            # the same request script. A round's ratios divide by the health of that round,
            # and the figures are the medians of the rounds' ratios: one round alone showed
            # whichever series a usage flush (every 60 s, seconds of work for 20,000 keys on
            # these two CPUs) happened to fall in.
            token_lists = {}
            for name, tokens in (("whoami plain", plain_file), ("whoami scoped", scoped_file)):
                with open(tokens) as f:
                    token_lists[name] = (tokens, [line.strip() for line in f if line.strip()])
            # Each round starts right after a usage flush and ends (about 35 s) before
            # the next: the flush writes every key used in the minute, 10,000 to 20,000
            # here, and took seconds of both CPUs, so it pulled down whichever window it
            # fell in. It costs plain and restricted keys the same; its own time is
            # reported beside. The two kinds take turns going first.
            rotating_rounds, flushes = [], []
            for round_ in range(rotating):
                # (--quick only reads the metric: waiting would add a minute a round to `make test`.)
                flushes.append(after_flush(metrics_port) if synced else flush_metrics(metrics_port)[1])
                one = {}
                order = list(token_lists.items())
                for name, (tokens, listed) in order if round_ % 2 == 0 else reversed(order):
                    warm(port, listed)
                    one[name] = wrk(f"{base}/api/v1/whoami", seconds, connections, tokens_file=tokens)[0]
                one["health"] = wrk(f"{base}/api/v1/health", seconds, connections, tokens_file=plain_file)[0]
                rotating_rounds.append(one)
                print(f"{kind} round {round_ + 1} over {keys:,} tokens: "
                      + ", ".join(f"{k} {v:.0f}" for k, v in one.items()), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    median = {name: statistics.median(values) for name, values in results.items()}
    return {
        "database": kind,
        "rps": {k: round(v) for k, v in median.items()},
        "plain_ratio": round(median["whoami plain"] / median["health"], 3),
        "scoped_ratio": round(median["whoami scoped"] / median["health"], 3),
        "check_vs_whoami": round(median["check scoped"] / median["whoami scoped"], 3),
        "rotating_rps": {k: round(statistics.median(r[k] for r in rotating_rounds)) for k in rotating_rounds[0]},
        "rotating_plain_ratio": round(statistics.median(r["whoami plain"] / r["health"] for r in rotating_rounds), 3),
        "rotating_scoped_ratio": round(statistics.median(r["whoami scoped"] / r["health"] for r in rotating_rounds), 3),
        # Each round's scoped whoami against its plain whoami, which needs no health
        # run to divide by: the two kinds' own comparison.
        "rotating_scoped_vs_plain": round(
            statistics.median(r["whoami scoped"] / r["whoami plain"] for r in rotating_rounds), 3),
        "flush_seconds": [round(f, 3) for f in flushes],
        "rotating_rounds": [
            {"plain": round(r["whoami plain"] / r["health"], 3), "scoped": round(r["whoami scoped"] / r["health"], 3)}
            for r in rotating_rounds
        ],
    }


WINDOWS_LUA = """
-- Globals, not locals: done() reads each thread's tables with thread:get().
start, width = 0, 10
let_through, limited = {}, {}
function init(args)
  start, width = tonumber(args[1]), tonumber(args[2])
end
function response(status, headers, body)
  local w = math.floor((os.time() - start) / width)
  if status == 200 then let_through[w] = (let_through[w] or 0) + 1
  elseif status == 429 then limited[w] = (limited[w] or 0) + 1 end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for w, n in pairs(thread:get("let_through")) do io.write(string.format("window %d 200 %d\\n", w, n)) end
    for w, n in pairs(thread:get("limited")) do io.write(string.format("window %d 429 %d\\n", w, n)) end
  end
end
"""


def shared_limit(seconds, width, limit, port):
    """Part 2: two instances, one limited key, wrk on both at once."""
    cluster = tempfile.mkdtemp(prefix="textpeak-bench-pg.")
    servers = []
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(WINDOWS_LUA)
    script.close()
    try:
        subprocess.run([CLUSTER, "start", cluster], check=True, capture_output=True)
        url = subprocess.run([CLUSTER, "createdb", cluster, "limits"], check=True, capture_output=True, text=True)
        url = url.stdout.strip()
        with tempfile.TemporaryDirectory() as data_a, tempfile.TemporaryDirectory() as data_b:
            for i, data in enumerate((data_a, data_b)):
                env = server_env(data, port + i, PASSWORD, DATABASE_URL=url)
                servers.append(subprocess.Popen(pinned(0, [SERVER]), env=env, cwd=REPO))
                wait_until_up(f"http://127.0.0.1:{port + i}/api/v1/health", servers[-1])
            a = Console(f"http://127.0.0.1:{port}")
            any_acl = next(acl["id"] for acl in a.call("list_api_keys")["ip_acls"] if acl["name"] == "Any address")
            token = a.call("create_api_key", name="Shared limit", ip_acl_id=any_acl, rate_limit=str(limit),
                           rate_per="second")["token"]
            # Both know the token (B from the change notice) before the clock starts.
            for i in range(2):
                deadline = time.time() + 5
                while True:
                    try:
                        if get(f"http://127.0.0.1:{port + i}/api/v1/whoami", token)[0] == 200:
                            break
                    except urllib.error.HTTPError:
                        pass
                    if time.time() > deadline:
                        sys.exit(f"instance {i} never accepted the new token")
                    time.sleep(0.05)
            time.sleep(1.5)  # the allowance is whole again after the probes
            start = int(time.time()) + 1
            runs = [
                subprocess.Popen(
                    pinned(1, ["wrk", "-H", f"Authorization: Bearer {token}", "-s", script.name, "-t1", "-c8",
                               f"-d{seconds + 2}s", f"http://127.0.0.1:{port + i}/api/v1/whoami", "--",
                               str(start), str(width)]),
                    stdout=subprocess.PIPE, text=True)
                for i in range(2)
            ]
            outputs = [run.communicate()[0] for run in runs]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run([CLUSTER, "remove", cluster], check=False, capture_output=True)
        os.unlink(script.name)
    let_through, refused, per_instance = {}, {}, []
    for out in outputs:
        mine = {}
        for w, status, n in re.findall(r"^window (-?\d+) (\d+) (\d+)$", out, re.M):
            w, n = int(w), int(n)
            if status == "200":
                let_through[w] = let_through.get(w, 0) + n
                mine[w] = n
            else:
                refused[w] = refused.get(w, 0) + n
        per_instance.append(mine)
    full = [w for w in range(seconds // width)]
    allowance = limit * width
    ratios = {w: round(let_through.get(w, 0) / allowance, 3) for w in full}
    return {
        "limit_per_second": limit,
        "window_seconds": width,
        "let_through": {w: let_through.get(w, 0) for w in full},
        "rate_limited": {w: refused.get(w, 0) for w in full},
        "per_instance": [{w: m.get(w, 0) for w in full} for m in per_instance],
        "ratios": ratios,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rotating-rounds", type=int, default=6,
                        help="rounds over rotating tokens (the usage flush falls in some: more rounds, steadier medians)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=3240)
    parser.add_argument("--quick", action="store_true", help="200 keys, 1 round of 2 s, a 6 s shared-limit run")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    shared_seconds, width = 30, 10
    if args.quick:
        args.keys, args.seconds, args.rounds, args.rotating_rounds = 200, 2, 1, 2
        shared_seconds, width = 6, 2

    figures = {"costs": [costs(kind, args.keys, args.seconds, args.rounds, args.rotating_rounds, args.connections,
                               args.port, synced=not args.quick)
                         for kind in ("sqlite", "postgres")]}
    figures["shared"] = shared_limit(shared_seconds, width, 1000, args.port + 2)

    print()
    for c in figures["costs"]:
        print(f"{c['database']}: whoami / health {c['plain_ratio']:.3f} plain, {c['scoped_ratio']:.3f} with permissions "
              f"and a limit; check / whoami {c['check_vs_whoami']:.3f} (target >= 0.95); over {args.keys:,} tokens "
              f"{c['rotating_plain_ratio']:.3f} plain, {c['rotating_scoped_ratio']:.3f} scoped, scoped / plain "
              f"{c['rotating_scoped_vs_plain']:.3f} (medians of {len(c['rotating_rounds'])} rounds: "
              f"{c['rotating_rounds']}); each round right after a usage flush, which took "
              f"{', '.join(f'{f:.2f}' for f in c['flush_seconds'])} s")
    shared = figures["shared"]
    windows = ", ".join(
        f"{w}: {shared['let_through'][w]:,} ({shared['ratios'][w]:.3f}; A {shared['per_instance'][0][w]:,}, "
        f"B {shared['per_instance'][1][w]:,}; {shared['rate_limited'][w]:,} told 429)"
        for w in shared["ratios"]
    )
    print(f"two instances, 1,000/s shared: let through per {width}-s window: {windows} (target 0.9 to 1.1)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
