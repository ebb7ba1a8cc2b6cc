#!/usr/bin/env python3
"""Lighthouse 12.2.3 (benches/lighthouse, npm) against the release server on
loopback, with its default mobile preset (simulated slow 4G, 4x slower CPU),
in Debian's Chromium: /login, /settings/api-keys with 50 keys and
/settings/ip-acls, the median of 3 runs each. Then the server render of
/settings/api-keys with 50 keys under wrk, beside /api/v1/health in the same
run.

Targets (issue 11): Performance 100, Total Blocking Time 0 ms, Time to
Interactive at most 1.0 s, Accessibility 100.

    python3 benches/lighthouse.py [--runs 3] [--json FILE]

LIGHTHOUSE_REPORTS=DIR keeps each run's whole report there (long tasks,
network requests), to see where a figure comes from.
"""

import argparse
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import REPO  # noqa: E402
from table import signed_in_server, wrk_mean_ms  # noqa: E402

HERE = os.path.join(REPO, "benches", "lighthouse")
PAGES = ["/login", "/settings/api-keys", "/settings/ip-acls"]


def lighthouse(url, cookie):
    """One run's figures. With a cookie the page is a console page: a run that
    ended anywhere else (sent to sign in) stops the benchmark."""
    command = [
        os.path.join(HERE, "node_modules", ".bin", "lighthouse"), url,
        "--output=json", "--output-path=stdout", "--quiet",
        "--only-categories=performance,accessibility",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    report = json.loads(out)
    keep = os.environ.get("LIGHTHOUSE_REPORTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        address = urllib.parse.urlsplit(url)
        # The port as well: hydration.py measures the same page behind one port per variant.
        name = f"{address.port}-{address.path.rstrip('/').rsplit('/', 1)[-1] or 'root'}"
        n = len([f for f in os.listdir(keep) if f.startswith(name)])
        with open(os.path.join(keep, f"{name}-{n}.json"), "w") as saved:
            saved.write(out)
    if report.get("runtimeError"):
        sys.exit(f"{url}: {report['runtimeError']}")
    final_url = report.get("finalDisplayedUrl") or report.get("finalUrl")
    if cookie and not final_url.endswith(urllib.parse.urlsplit(url).path):
        sys.exit(f"{url}: Lighthouse was sent to {final_url} (not signed in?)")
    audits = report["audits"]
    return {
        "performance": round(report["categories"]["performance"]["score"] * 100),
        "accessibility": round(report["categories"]["accessibility"]["score"] * 100),
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "tti_ms": audits["interactive"]["numericValue"],
        "fcp_ms": audits["first-contentful-paint"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "transfer_kib": audits["total-byte-weight"]["numericValue"] / 1024,
    }


def install():
    """Lighthouse from benches/lighthouse's lock file, once."""
    if not os.path.exists(os.path.join(HERE, "node_modules", ".bin", "lighthouse")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def median_run(runs):
    """The run with the median Performance score (ties: median TTI), as Lighthouse's own docs advise."""
    ordered = sorted(runs, key=lambda r: (r["performance"], -r["tti_ms"]))
    return ordered[len(ordered) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="wrk time for the server render")
    parser.add_argument("--port", type=int, default=3220)
    parser.add_argument("--json")
    args = parser.parse_args()
    install()
    figures = {}
    with signed_in_server(args.port, 50) as server:
        for path in PAGES:
            runs = [lighthouse(server.base + path, None if path == "/login" else server.cookie)
                    for _ in range(args.runs)]
            figures[path] = r = median_run(runs)
            print(f"{path:22} Performance {r['performance']:3}  Accessibility {r['accessibility']:3}  "
                  f"TBT {r['tbt_ms']:5.0f} ms  TTI {r['tti_ms']:6.0f} ms  FCP {r['fcp_ms']:5.0f} ms  "
                  f"LCP {r['lcp_ms']:5.0f} ms  transferred {r['transfer_kib']:6.1f} KiB", flush=True)
        headers = {"Cookie": server.cookie, "Sec-Fetch-Site": "same-origin"}
        page = wrk_mean_ms(f"{server.base}/settings/api-keys", args.seconds, headers)
        health = wrk_mean_ms(f"{server.base}/api/v1/health", args.seconds, {})
    print(f"server render of /settings/api-keys (50 keys), one connection: {page[2]:.0f} req/s, p99 {page[1]:.2f} ms; "
          f"/api/v1/health {health[2]:.0f} req/s, p99 {health[1]:.2f} ms; ratio {page[2] / health[2]:.3f}")
    met = all(r["performance"] == 100 and r["tbt_ms"] == 0 and r["tti_ms"] <= 1000 and r["accessibility"] == 100
              for r in figures.values())
    print(f"targets (Performance 100, TBT 0 ms, TTI <= 1.0 s, Accessibility 100): {'met' if met else 'not met'}")
    figures["render"] = {"page_rps": page[2], "page_p99_ms": page[1], "health_rps": health[2], "health_p99_ms": health[1]}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
