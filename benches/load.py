#!/usr/bin/env python3
"""Load benchmark of the TextPeak API against the release server on loopback.

Seeds a fresh database with KEYS API keys (SQLite, or a throw-away PostgreSQL
cluster of its own with --database postgres), starts target/release/textpeak,
and measures:

- cold lookups: the first use of each of --cold tokens nobody used yet (one
  database query each), one request at a time: median and p99;
- GET /api/v1/whoami (token verified, IP ACL checked) against GET
  /api/v1/health (no authentication), in alternating wrk rounds of the same
  run, so the ratio compares like with like;
- with --rotate N, whoami rotating over N distinct tokens, so the token cache
  really fills (every token used once before each round), and the server's
  peak resident memory (VmHWM) after it.

    python3 benches/load.py                       # SQLite, 100,000 keys, 3 rounds of 10 s
    python3 benches/load.py --database postgres --rotate 10000
    python3 benches/load.py --quick               # proves the harness works (make test)
    python3 benches/load.py --binary B --seed S   # another build and its seed_keys, for an A/B
"""

import argparse
import contextlib
import http.client
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
CLUSTER = os.path.join(REPO, "tests", "postgres.sh")


def parse_latency(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def pinned(cpu, command):
    """Runs on one CPU when there are two or more, so server and load generator do not preempt each other."""
    return ["taskset", "-c", str(cpu), *command] if PIN else command


def wrk(url, seconds, connections, token=None, tokens_file=None):
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    script = []
    if tokens_file:
        lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        lua.write(
            f'local tokens = {{}}\nfor line in io.lines("{tokens_file}") do tokens[#tokens + 1] = line end\n'
            "local i = 0\n"
            "request = function()\n"
            "  i = i % #tokens + 1\n"
            '  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })\n'
            "end\n"
        )
        lua.close()
        script = ["-s", lua.name]
    command = pinned(1, ["wrk", *headers, *script, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    if script:
        os.unlink(script[1])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = parse_latency(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        sys.exit(f"{url}: {non2xx.group(1)} failed responses\n{out}")
    return rps, p99


def server_env(data, port, password, **extra):
    """The release server's environment for a benchmark: its own data folder, loopback, production mode."""
    return dict(
        os.environ,
        TEXTPEAK_DATA_DIR=data,
        TEXTPEAK_ADMIN_PASSWORD=password,
        LEPTOS_SITE_ADDR=f"127.0.0.1:{port}",
        LEPTOS_SITE_ROOT=os.path.join(REPO, "target", "site"),
        LEPTOS_ENV="PROD",
        RUST_LOG="warn",
        **extra,
    )


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


@contextlib.contextmanager
def database(kind, data):
    """The database URL to use: SQLite in the data folder, or a PostgreSQL cluster of our own."""
    if kind == "sqlite":
        yield f"sqlite://{os.path.join(data, 'textpeak.db')}?mode=rwc"
        return
    cluster = tempfile.mkdtemp(prefix="textpeak-bench-pg.")
    try:
        subprocess.run([CLUSTER, "start", cluster], check=True, capture_output=True)
        url = subprocess.run([CLUSTER, "createdb", cluster, "bench"], check=True, capture_output=True, text=True)
        yield url.stdout.strip()
    finally:
        subprocess.run([CLUSTER, "remove", cluster], check=False, capture_output=True)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def one_connection(port, path, tokens, what):
    """One request per token (None: without one) on one keep-alive connection: ms each.
    Any answer but 200 stops the benchmark."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for token in tokens:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            sys.exit(f"{what}: {path} answered {response.status}")
    connection.close()
    return times


def cold_lookups(port, tokens):
    """First use of each token, one request at a time on one connection: ms each."""
    return one_connection(port, "/api/v1/whoami", tokens, "cold lookup")


def warm(port, tokens, threads=8):
    """Each token used once (its cold lookup), several at a time, so every one is cached
    before a rotating run: a wrk pass of a few seconds reached only part of 10,000."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        shares = [tokens[i::threads] for i in range(threads)]
        list(pool.map(lambda share: one_connection(port, "/api/v1/whoami", share, "warming the cache"), shares))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def refused_run(base, pid, seconds, connections):
    """A key whose IP ACL admits nobody here: every whoami is refused, and recorded as such.
    Returns the server's RSS every 10 s."""
    import http.cookiejar
    import threading
    import urllib.parse

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(function, **form):
        request = urllib.request.Request(
            f"{base}/rpc/{function}", data=urllib.parse.urlencode(form).encode(), headers={"Origin": base}
        )
        return json.loads(opener.open(request).read() or b"null")

    call("sign_in", username="admin", password="load benchmark password")
    call("create_ip_acl", name="Nowhere near", entries="192.0.2.0/24")
    acl = next(a["id"] for a in call("list_ip_acls") if a["name"] == "Nowhere near")
    token = call("create_api_key", name="Always refused", ip_acl_id=acl)["token"]
    samples = {}
    started = time.time()
    done = threading.Event()

    def sample():
        while not done.wait(1):
            elapsed = int(time.time() - started)
            if elapsed % 10 == 0 and elapsed not in samples:
                samples[elapsed] = rss_mib(pid)

    sampler = threading.Thread(target=sample)
    sampler.start()
    command = pinned(1, ["wrk", "-H", f"Authorization: Bearer {token}", "-t1", f"-c{connections}", f"-d{seconds}s",
                         f"{base}/api/v1/whoami"])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    done.set()
    sampler.join()
    samples[int(time.time() - started)] = rss_mib(pid)
    if "Non-2xx or 3xx responses" not in out:
        sys.exit(f"the refused run was not refused:\n{out}")
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cold", type=int, default=1000, help="tokens used once each, uncached")
    parser.add_argument("--rotate", type=int, default=0, help="distinct tokens for the rotating whoami run")
    parser.add_argument("--refused", type=int, default=0, metavar="SECONDS",
                        help="then refuse every request (403, outside the key's IP ACL) for this long, sampling RSS")
    parser.add_argument("--port", type=int, default=3200)
    parser.add_argument("--quick", action="store_true", help="1,000 keys, 1 round of 2 s, 50 cold lookups")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--binary", default=os.path.join(REPO, "target", "release", "textpeak"),
                        help="the server to measure (another build, for an A/B in one session)")
    parser.add_argument("--seed", default=os.path.join(REPO, "target", "release", "examples", "seed_keys"),
                        help="the seed_keys built with that server (its schema)")
    args = parser.parse_args()
    if args.quick:
        args.keys, args.seconds, args.rounds, args.cold = 1_000, 2, 1, 50
        args.rotate = min(args.rotate, 500)

    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as data, database(args.database, data) as database_url:
        env = server_env(data, args.port, "load benchmark password", DATABASE_URL=database_url)
        tokens_file = os.path.join(data, "tokens.txt")
        seed = args.seed
        started = time.time()
        wanted = args.cold + args.rotate
        seeded = subprocess.run(
            [seed, str(args.keys), str(wanted), tokens_file], check=True, capture_output=True, text=True, env=env, cwd=REPO
        )
        token = seeded.stdout.strip()
        print(f"seeded {args.keys:,} keys ({args.database}) in {time.time() - started:.1f} s", flush=True)
        with open(tokens_file) as f:
            tokens = [line.strip() for line in f if line.strip()]
        cold, rotating = tokens[: args.cold], tokens[args.cold :]
        rotating_file = os.path.join(data, "rotating.txt")
        with open(rotating_file, "w") as f:
            f.write("\n".join(rotating) + "\n")

        server = subprocess.Popen(pinned(0, [args.binary]), env=env, cwd=REPO)
        try:
            wait_until_up(f"{base}/api/v1/health", server)
            cold_ms = cold_lookups(args.port, cold)
            print(f"cold lookups: {len(cold_ms)} first uses, median {statistics.median(cold_ms):.3f} ms, "
                  f"p99 {percentile(cold_ms, 0.99):.3f} ms", flush=True)
            request = urllib.request.Request(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
            answer = json.load(urllib.request.urlopen(request))
            # Only that it answers as whoami: what the body holds is the tests' concern
            # (an older build given with --binary answers with more).
            assert answer["name"], answer
            results = {"health": [], "whoami": []}
            for round_ in range(args.rounds):
                for name, token_for in (("health", None), ("whoami", token)):
                    rps, p99 = wrk(f"{base}/api/v1/{name}", args.seconds, args.connections, token_for)
                    results[name].append((rps, p99))
                    print(f"round {round_ + 1} {name:7} {rps:10.0f} req/s  p99 {p99:.3f} ms", flush=True)
            rss = peak_rss_mib(server.pid)
            rotated = None
            if rotating:
                # Each round: one pass first, so every token is cached (its first use is a cold
                # lookup; later rounds find most cached, and the refresh job reads each again
                # before it expires, as it would in steady use); whoami right after it; then
                # health through the same request script, whose Lua costs wrk as much for health
                # as for whoami. The ratio is the median of the rounds' ratios, each health next
                # to its whoami (the req/s figures are medians of their own).
                pairs = []
                for round_ in range(args.rounds):
                    warm(args.port, rotating)
                    whoami_round = wrk(f"{base}/api/v1/whoami", args.seconds, args.connections, tokens_file=rotating_file)
                    health_round = wrk(f"{base}/api/v1/health", args.seconds, args.connections, tokens_file=rotating_file)
                    pairs.append((health_round, whoami_round))
                    print(f"round {round_ + 1} over {len(rotating):,} tokens: health {health_round[0]:10.0f} req/s, "
                          f"whoami {whoami_round[0]:10.0f} req/s  p99 {whoami_round[1]:.3f} ms", flush=True)
                health_rotated = (statistics.median(h[0] for h, _ in pairs), statistics.median(h[1] for h, _ in pairs))
                rotated = (statistics.median(w[0] for _, w in pairs), statistics.median(w[1] for _, w in pairs))
                rotated_ratio = statistics.median(w[0] / h[0] for h, w in pairs)
            rss_rotated = peak_rss_mib(server.pid)
            refused_rss = refused_run(base, server.pid, args.refused, args.connections) if args.refused else None
        finally:
            server.terminate()
            server.wait(timeout=30)

    health_rps = statistics.median(r for r, _ in results["health"])
    whoami_rps = statistics.median(r for r, _ in results["whoami"])
    health_p99 = statistics.median(p for _, p in results["health"])
    whoami_p99 = statistics.median(p for _, p in results["whoami"])
    figures = {
        "machine": f"{os.cpu_count()} CPUs, {cpu_model()}",
        "database": args.database,
        "keys": args.keys,
        "rounds": args.rounds,
        "seconds_per_run": args.seconds,
        "connections": args.connections,
        "pinned": PIN,
        "cold_median_ms": round(statistics.median(cold_ms), 3),
        "cold_p99_ms": round(percentile(cold_ms, 0.99), 3),
        "health_rps": round(health_rps),
        "whoami_rps": round(whoami_rps),
        "ratio": round(whoami_rps / health_rps, 3),
        "health_p99_ms": round(health_p99, 3),
        "whoami_p99_ms": round(whoami_p99, 3),
        "peak_rss_mib": round(rss, 1),
    }
    if rotated:
        figures.update(
            rotating_tokens=len(rotating),
            rotating_rps=round(rotated[0]),
            rotating_health_rps=round(health_rotated[0]),
            rotating_ratio=round(rotated_ratio, 3),
            rotating_p99_ms=round(rotated[1], 3),
            peak_rss_rotating_mib=round(rss_rotated, 1),
        )
    print()
    print(f"machine: {figures['machine']}; database: {args.database}")
    placement = "server on CPU 0, wrk on CPU 1" if PIN else "unpinned"
    print(f"{args.keys:,} keys; wrk -t1 -c{args.connections}; {placement}; median of {args.rounds} rounds of {args.seconds} s")
    print(f"cold lookups ({len(cold_ms)} first uses): median {figures['cold_median_ms']:.3f} ms, p99 {figures['cold_p99_ms']:.3f} ms")
    print(f"GET /api/v1/health  {health_rps:10.0f} req/s  p99 {health_p99:.3f} ms")
    print(f"GET /api/v1/whoami  {whoami_rps:10.0f} req/s  p99 {whoami_p99:.3f} ms")
    print(f"whoami / health throughput: {figures['ratio']:.3f} (target >= 0.8); whoami p99 target < 2 ms")
    print(f"server peak RSS: {rss:.1f} MiB")
    if rotated:
        print(f"whoami over {len(rotating):,} distinct tokens: {rotated[0]:.0f} req/s, "
              f"{figures['rotating_ratio']:.3f} of health sent the same way (median of {args.rounds} rounds' ratios; "
              f"target >= 0.8); "
              f"peak RSS with them cached {rss_rotated:.1f} MiB")
    if refused_rss:
        at_minute = refused_rss.get(60) or refused_rss[max(refused_rss)]
        last = refused_rss[max(refused_rss)]
        figures.update(refused_rss_mib={str(t): round(v, 1) for t, v in refused_rss.items()})
        samples = ", ".join(f"{t} s {v:.1f}" for t, v in sorted(refused_rss.items()))
        print(f"every request refused for {max(refused_rss)} s: RSS (MiB) {samples}; "
              f"from the first minute to the end {last - at_minute:+.1f} MiB")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
