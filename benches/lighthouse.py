#!/usr/bin/env python3
"""Lighthouse 12.2.3 (benches/lighthouse, npm) against the release server on
loopback, in Debian's Chromium, on every console page (the Overview, API
Keys with 50 keys, a key's page, IP ACLs, the Audit Log, Team, Security)
and the sign-in page: with the mobile preset (simulated slow 4G, 4x slower
CPU) and the desktop one, the median of 3 runs each. Then the server render
of /settings/api-keys with 50 keys under wrk, beside /api/v1/health in the
same run.

Targets (issues 11 and 24): Performance 100 and Accessibility 100 on the
desktop preset, Accessibility 100 on the mobile one; on mobile, Total
Blocking Time 0 ms and Time to Interactive at most 1.0 s (issue 11).

    python3 benches/lighthouse.py [--runs 3] [--json FILE]
    python3 benches/lighthouse.py --accessibility   # one pass, Accessibility only (make test)
    python3 benches/lighthouse.py --preset desktop --page / --page KEY   # some pages only

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
PAGES = ["/login", "/", "/settings/api-keys", "KEY", "/settings/ip-acls", "/settings/audit-log", "/settings/team",
         "/settings/security"]


def lighthouse(url, cookie, preset="mobile", categories="performance,accessibility"):
    """One run's figures. With a cookie the page is a console page: a run that
    ended anywhere else (sent to sign in) stops the benchmark."""
    command = [
        os.path.join(HERE, "node_modules", ".bin", "lighthouse"), url,
        "--output=json", "--output-path=stdout", "--quiet",
        f"--only-categories={categories}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
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
    if "performance" not in report["categories"]:
        failing = [a["id"] for a in audits.values() if a.get("score") == 0 and a.get("scoreDisplayMode") == "binary"]
        return {"accessibility": round(report["categories"]["accessibility"]["score"] * 100), "failing": failing}
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


def key_page(server):
    """The first key's page: keys are named "load N"."""
    from table import list_keys

    key = list_keys(server.base, server.cookie, {})["keys"][0]
    return f"/settings/api-keys/{key['id']}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="wrk time for the server render")
    parser.add_argument("--port", type=int, default=3220)
    parser.add_argument("--json")
    parser.add_argument("--accessibility", action="store_true",
                        help="one pass, Accessibility only, both presets; fails below 100 (make test)")
    parser.add_argument("--preset", choices=("desktop", "mobile"), action="append",
                        help="only this preset (repeatable); both when not given")
    parser.add_argument("--page", action="append", choices=PAGES,
                        help="only this page (repeatable; KEY is a key's page); every page when not given")
    args = parser.parse_args()
    presets = args.preset or ["desktop", "mobile"]
    install()
    figures = {}
    with signed_in_server(args.port, 50) as server:
        pages = [key_page(server) if p == "KEY" else p for p in (args.page or PAGES)]
        if args.accessibility:
            below = []
            for preset in presets:
                for path in pages:
                    r = lighthouse(server.base + path, None if path == "/login" else server.cookie, preset, "accessibility")
                    print(f"{preset:8} {path:28} Accessibility {r['accessibility']:3}  {' '.join(r['failing'])}", flush=True)
                    if r["accessibility"] < 100:
                        below.append(f"{preset} {path}: {r['accessibility']} ({', '.join(r['failing'])})")
            if below:
                sys.exit("Accessibility below 100: " + "; ".join(below))
            return
        for preset in presets:
            for path in pages:
                runs = [lighthouse(server.base + path, None if path == "/login" else server.cookie, preset)
                        for _ in range(args.runs)]
                figures[f"{preset} {path}"] = r = median_run(runs)
                print(f"{preset:8} {path:28} Performance {r['performance']:3}  Accessibility {r['accessibility']:3}  "
                      f"TBT {r['tbt_ms']:5.0f} ms  TTI {r['tti_ms']:6.0f} ms  FCP {r['fcp_ms']:5.0f} ms  "
                      f"LCP {r['lcp_ms']:5.0f} ms  transferred {r['transfer_kib']:6.1f} KiB", flush=True)
        headers = {"Cookie": server.cookie, "Sec-Fetch-Site": "same-origin"}
        page = wrk_mean_ms(f"{server.base}/settings/api-keys", args.seconds, headers)
        health = wrk_mean_ms(f"{server.base}/api/v1/health", args.seconds, {})
    print(f"server render of /settings/api-keys (50 keys), one connection: {page[2]:.0f} req/s, p99 {page[1]:.2f} ms; "
          f"/api/v1/health {health[2]:.0f} req/s, p99 {health[1]:.2f} ms; ratio {page[2] / health[2]:.3f}")
    desktop = [r for k, r in figures.items() if k.startswith("desktop")]
    mobile = [r for k, r in figures.items() if k.startswith("mobile")]
    met = (all(r["performance"] == 100 and r["accessibility"] == 100 for r in desktop)
           and all(r["accessibility"] == 100 for r in mobile))
    print(f"targets (desktop: Performance 100 and Accessibility 100; mobile: Accessibility 100): {'met' if met else 'not met'}")
    figures["render"] = {"page_rps": page[2], "page_p99_ms": page[1], "health_rps": health[2], "health_p99_ms": health[1]}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
