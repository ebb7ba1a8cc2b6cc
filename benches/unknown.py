#!/usr/bin/env python3
"""Made-up tokens against the in-memory token index (issue 21), on PostgreSQL.

Seeds --keys API keys in a throw-away PostgreSQL cluster, starts the release
server behind "a proxy" (TEXTPEAK_TRUSTED_PROXIES=127.0.0.1/32, so wrk can
speak for --addresses client addresses through X-Forwarded-For), and sends
--tokens random well-formed tokens that no key has, each once, round robin
over the addresses. It reports:

- the database lookups they caused: index scans of the token digest index
  in pg_stat_user_indexes (the target is none, beyond the index's false
  positives, about one in 2^64 per key);
- their throughput against GET /api/v1/health sent through the same script;
- how the answers split between 401 (refused from memory) and 429 (the
  per-address brake);
- the index's load time and memory at start, with --keys tokens and then
  with --big tokens (the extra ones inserted as rolled-out tokens of one key,
  straight into the table: the index reads every token, live or not).

    python3 benches/unknown.py                 # 100,000 keys, 1,000,000 tokens, 1,000 addresses
    python3 benches/unknown.py --quick         # proves the harness works (make test)
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import REPO, database, pinned, rss_mib, server_env, wait_until_up  # noqa: E402

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(value, length):
    digits = []
    for _ in range(length):
        value, digit = divmod(value, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def made_up_token(rng):
    """`tp_` + 43 base62 digits of 32 random bytes + the base62 CRC32 of what precedes it."""
    body = "tp_" + base62(rng.getrandbits(256), 43)
    return body + base62(zlib.crc32(body.encode()), 6)


def psql(url, sql):
    out = subprocess.run(["psql", url, "-At", "-c", sql], check=True, capture_output=True, text=True).stdout
    return out.strip()


def digest_index_scans(url):
    """Index scans of the unique index on api_key_tokens.digest: one per token looked up."""
    return int(psql(url, "SELECT coalesce(sum(s.idx_scan), 0) FROM pg_stat_user_indexes s JOIN pg_indexes i "
                         "ON i.indexname = s.indexrelname WHERE s.relname = 'api_key_tokens' "
                         "AND i.indexdef LIKE '%(digest)%'") or 0)


def wrk_script(tokens_file, addresses):
    lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lua.write(
        f'local tokens = {{}}\nfor line in io.lines("{tokens_file}") do tokens[#tokens + 1] = line end\n'
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #tokens + 1\n"
        f"  local a = i % {addresses}\n"
        '  local from = "10.7." .. math.floor(a / 250) .. "." .. (a % 250 + 1)\n'
        '  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i], ["X-Forwarded-For"] = from })\n'
        "end\n"
        "statuses = {}\n"
        "response = function(status, headers, body)\n"
        "  statuses[status] = (statuses[status] or 0) + 1\n"
        "end\n"
        "local threads = {}\n"
        "setup = function(thread) table.insert(threads, thread) end\n"
        "done = function(summary, latency, requests)\n"
        "  for _, thread in ipairs(threads) do\n"
        "    for status, n in pairs(thread:get('statuses')) do io.write(string.format('status %d %d\\n', status, n)) end\n"
        "  end\n"
        "end\n"
    )
    lua.close()
    return lua.name


def run_wrk(url, script, seconds, connections):
    out = subprocess.run(pinned(1, ["wrk", "-s", script, "-t1", f"-c{connections}", f"-d{seconds}s", url]),
                         check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    statuses = {int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", out, re.M)}
    return rps, requests, statuses


def index_loaded(log):
    """The figures of the server's "token index loaded" line."""
    with open(log) as f:
        for line in f:
            if "token index loaded" in line:
                line = re.sub(r"\x1b\[[0-9;]*m", "", line)
                fields = dict(re.findall(r"(\w+)=(\d+)", line))
                return int(fields["tokens"]), int(fields["took_ms"]), int(fields["kib"])
    sys.exit(f"the server did not log its token index:\n{open(log).read()[-2000:]}")


def start(env, base, log):
    server = subprocess.Popen(pinned(0, [os.path.join(REPO, "target", "release", "textpeak")]), env=env, cwd=REPO,
                              stderr=open(log, "w"))
    wait_until_up(f"{base}/api/v1/health", server)
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="tokens in the table for the second start")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=3300)
    parser.add_argument("--quick", action="store_true", help="1,000 keys, 20,000 tokens, 100 addresses")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.keys, args.tokens, args.addresses, args.big = 1_000, 20_000, 100, 20_000

    base = f"http://127.0.0.1:{args.port}"
    rng = random.Random(21)
    with tempfile.TemporaryDirectory() as data, database("postgres", data) as url:
        env = server_env(data, args.port, "load benchmark password", DATABASE_URL=url,
                         TEXTPEAK_TRUSTED_PROXIES="127.0.0.1/32")
        env["RUST_LOG"] = "warn,textpeak::server::startup=info"
        seed = os.path.join(REPO, "target", "release", "examples", "seed_keys")
        started = time.time()
        subprocess.run([seed, str(args.keys)], check=True, capture_output=True, text=True, env=env, cwd=REPO)
        print(f"seeded {args.keys:,} keys (postgres) in {time.time() - started:.1f} s", flush=True)
        tokens_file = os.path.join(data, "made-up.txt")
        with open(tokens_file, "w") as f:
            for _ in range(args.tokens):
                f.write(made_up_token(rng) + "\n")
        script = wrk_script(tokens_file, args.addresses)
        log = os.path.join(data, "server.log")
        figures = {"keys": args.keys, "tokens": args.tokens, "addresses": args.addresses}
        server = start(env, base, log)
        try:
            tokens, took_ms, kib = index_loaded(log)
            figures.update(index_tokens=tokens, index_load_ms=took_ms, index_kib=kib,
                           rss_mib=round(rss_mib(server.pid), 1))
            print(f"index at start: {tokens:,} tokens in {took_ms} ms, {kib:,} KiB", flush=True)
            # Health through the same script (its Lua costs wrk as much), then the made-up
            # tokens for as long as it takes to send each of them once.
            health_rps, _, _ = run_wrk(f"{base}/api/v1/health", script, 5, args.connections)
            seconds = max(2, int(args.tokens / max(health_rps, 1) * 1.3) + 1)
            before = digest_index_scans(url)
            rps, sent, statuses = run_wrk(f"{base}/api/v1/whoami", script, seconds, args.connections)
            time.sleep(1)
            lookups = digest_index_scans(url) - before
            health_rps, _, _ = run_wrk(f"{base}/api/v1/health", script, 5, args.connections)
        finally:
            server.terminate()
            server.wait(timeout=30)
        figures.update(sent=sent, lookups=lookups, whoami_unknown_rps=round(rps), health_rps=round(health_rps),
                       ratio=round(rps / health_rps, 3), statuses=statuses)
        print(f"{sent:,} made-up tokens from {args.addresses:,} addresses in {seconds} s: {rps:,.0f} req/s "
              f"({rps / health_rps:.3f} of health, {health_rps:,.0f} req/s); answers {statuses}; "
              f"database lookups {lookups}", flush=True)
        if sent < args.tokens:
            sys.exit(f"only {sent:,} of {args.tokens:,} tokens were sent")
        bad = {s: n for s, n in statuses.items() if s not in (401, 429)}
        if bad:
            sys.exit(f"made-up tokens answered {bad}")

        # A bigger table: the index at start with --big tokens in all.
        extra = max(0, args.big - tokens)
        psql(url, "INSERT INTO api_key_tokens (key_id, digest, sealed, suffix, created_at, expires_at, ended) "
                  "SELECT (SELECT min(id) FROM api_keys), decode(md5(random()::text || g) || md5(g || random()::text), 'hex'), "
                  f"'\\x00'::bytea, 'xxxx', 0, 0, true FROM generate_series(1, {extra}) g")
        server = start(env, base, log)
        try:
            big_tokens, big_ms, big_kib = index_loaded(log)
            big_rss = rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        figures.update(big_tokens=big_tokens, big_load_ms=big_ms, big_kib=big_kib, big_rss_mib=round(big_rss, 1))
        print(f"index at start: {big_tokens:,} tokens in {big_ms} ms, {big_kib:,} KiB "
              f"(server RSS {big_rss:.1f} MiB, {figures['rss_mib']:.1f} with {tokens:,})", flush=True)
        os.unlink(script)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
