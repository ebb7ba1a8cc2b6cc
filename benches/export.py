#!/usr/bin/env python3
"""The CSV download of every key (issue 23): time and the server's memory.

Seeds 100,000 keys into SQLite, starts the release server, signs in, and
downloads /settings/api-keys/export.csv whole, reading it as it streams.
Reports the time, the rows, and the server's resident memory before and
after and its peak (VmHWM), so "constant memory" is a figure: the peak's
growth should be a fraction of the file's size.

    python3 benches/export.py             # 100,000 keys
    python3 benches/export.py --quick     # 2,000 keys (make test)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from instances import PASSWORD, Console  # noqa: E402
from load import REPO, pinned, server_env, wait_until_up  # noqa: E402

SEED = os.path.join(REPO, "target", "release", "examples", "seed_keys")
SERVER = os.path.join(REPO, "target", "release", "textpeak")


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=3270)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.keys = 2_000
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as data:
        env = server_env(data, args.port, PASSWORD)
        subprocess.run([SEED, str(args.keys), "0"], check=True, capture_output=True, env=env, cwd=REPO)
        server = subprocess.Popen(pinned(0, [SERVER]), env=env, cwd=REPO)
        try:
            wait_until_up(f"{base}/api/v1/health", server)
            console = Console(base)
            rss_before = memory_kib(server.pid, "VmRSS")
            peak_before = memory_kib(server.pid, "VmHWM")
            request = urllib.request.Request(f"{base}/settings/api-keys/export.csv",
                                             headers={"Sec-Fetch-Site": "same-origin"})
            started = time.perf_counter()
            size, rows = 0, 0
            with console.opener.open(request) as response:
                assert response.headers["Content-Type"].startswith("text/csv"), response.headers
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    rows += chunk.count(b"\r\n")
            took = time.perf_counter() - started
            rss_after = memory_kib(server.pid, "VmRSS")
            peak_after = memory_kib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
    rows -= 1  # the header
    if rows != args.keys:
        sys.exit(f"the download held {rows} keys, not {args.keys}")
    figures = {
        "keys": args.keys,
        "seconds": round(took, 2),
        "rows_per_second": round(rows / took),
        "file_kib": size // 1024,
        "rss_kib_before": rss_before,
        "rss_kib_after": rss_after,
        "peak_kib_before": peak_before,
        "peak_kib_after": peak_after,
        "peak_growth_vs_file": round((peak_after - peak_before) / max(1, size // 1024), 3),
    }
    print(f"{rows:,} keys in {took:.2f} s ({figures['rows_per_second']:,} rows/s), {size // 1024:,} KiB; "
          f"server peak memory {peak_before:,} -> {peak_after:,} KiB "
          f"(growth {figures['peak_growth_vs_file']:.3f} of the file's size)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
