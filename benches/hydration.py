#!/usr/bin/env python3
"""What hydrating at load costs on the console pages, and what moving it
would cost admins (issue 11). An experiment: the console serves none of the
variants below but the first.

The release server (50 keys) is put behind one rewriting proxy per variant,
so every variant goes through the same proxy as the baseline:

    as served    the page unchanged: the baseline
    no wasm      the scripts and preload hints removed: the server's HTML alone
    on intent    the bundle fetched at load as now, but hydrated only on the
                 first pointer, touch, key or focus event (hydration/intent.js)
    after paint  the bundle fetched only after the first contentful paint
                 (no preload hints), then hydrated on intent as above

Each variant is measured twice:
- Lighthouse 12.2.3, mobile preset, median of --runs, on API Keys and IP ACLs;
- real Chromium throttled with that preset's simulated values
  (hydration/tap.mjs), median of --loads: how soon Add API Key opens its
  dialog, clicked at once, clicked after a hover, or tapped, and how soon
  Add IP ACL does when tapped.

    python3 benches/hydration.py [--runs 3] [--loads 5]

About 20 minutes. Needs `make build` (the release server and the seed_keys
example) and end2end's node_modules (`make playwright`); Lighthouse is
installed from benches/lighthouse's lock file if missing.
"""

import argparse
import gzip
import http.server
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lighthouse import install, lighthouse, median_run  # noqa: E402
from load import REPO  # noqa: E402
from table import signed_in_server  # noqa: E402

HERE = os.path.join(REPO, "benches", "hydration")
PAGES = ["/settings/api-keys", "/settings/ip-acls"]
PRELOADS = re.compile(r'<link[^>]*rel="(?:module)?preload"[^>]*>')
MODULE_SCRIPT = re.compile(r'(<script type="module"[^>]*>)(.*?)</script>', re.S)
# The arguments Leptos's hydration script ends with: root, pkg path, JS and wasm names, defer.
HYDRATION_ARGS = re.compile(r'\(("[^"]*", "[^"]*", "[^"]*", "[^"]*"), (?:true|false)\);\s*$')


def with_intent(after_paint):
    """Replaces the page's hydration script with intent.js, called with the same bundle names."""
    with open(os.path.join(HERE, "intent.js")) as source:
        code = "\n".join(line for line in source.read().splitlines() if not line.lstrip().startswith("//"))

    def replace(script):
        args = HYDRATION_ARGS.search(script.group(2))
        if not args:
            raise ValueError("the page's hydration script is not the one this experiment knows how to replace")
        return f"{script.group(1)}{code}({args.group(1)}, {'true' if after_paint else 'false'});</script>"

    return lambda html: MODULE_SCRIPT.sub(replace, html, count=1)


def rewriters():
    on_intent, after_paint = with_intent(False), with_intent(True)
    return {
        "as served": lambda html: html,
        "no wasm": lambda html: MODULE_SCRIPT.sub("", PRELOADS.sub("", html)),
        "on intent": on_intent,
        "after paint": lambda html: after_paint(PRELOADS.sub("", html)),
    }


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def proxy(upstream, port, rewrite):
    """Serves `upstream` on `port`, HTML rewritten (and gzipped again), everything else as is."""
    opener = urllib.request.build_opener(NoRedirects)

    class Handler(http.server.BaseHTTPRequestHandler):
        # Keep-alive, as the server itself does: one connection per request would
        # charge every variant handshakes the console does not cost.
        protocol_version = "HTTP/1.1"

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            # The browser's Host is kept, so the server's same-origin check sees the
            # origin the browser names. HTML is asked for uncompressed, to be
            # rewritten; assets keep their precompressed forms.
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("content-length", "connection")
                       and (k.lower() != "accept-encoding" or self.path.startswith("/pkg/"))}
            request = urllib.request.Request(upstream + self.path, data=body, headers=headers, method=self.command)
            try:
                response = opener.open(request, timeout=30)
            except urllib.error.HTTPError as refused:
                response = refused
            except (urllib.error.URLError, OSError) as failed:
                self.send_error(502, f"upstream: {failed}")
                return
            data = response.read()
            html = "text/html" in response.headers.get("Content-Type", "")
            if html:
                data = gzip.compress(rewrite(data.decode()).encode(), 6)
            self.send_response(response.status)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                    self.send_header(name, value)
                elif name.lower() == "content-encoding" and not html:
                    self.send_header(name, value)
            if html:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = forward

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page and variant")
    parser.add_argument("--loads", type=int, default=5, help="throttled Chromium loads per moment and variant")
    parser.add_argument("--port", type=int, default=3250)
    args = parser.parse_args()
    install()
    variants = rewriters()
    bases = {name: f"http://127.0.0.1:{args.port + 1 + i}" for i, name in enumerate(variants)}
    with signed_in_server(args.port, 50) as server:
        cookie = server.cookie
        # Each rewrite tried once before measuring: a page it cannot rewrite stops here, not in a proxy thread.
        page = urllib.request.Request(server.base + PAGES[0], headers={"Cookie": cookie, "Sec-Fetch-Site": "same-origin"})
        html = urllib.request.urlopen(page, timeout=30).read().decode()
        for rewrite in variants.values():
            rewrite(html)
        proxies = [proxy(server.base, args.port + 1 + i, rewrite) for i, rewrite in enumerate(variants.values())]
        try:
            for path in PAGES:
                runs = {name: [] for name in variants}
                for _ in range(args.runs):  # variants alternate, so drift over the run hits all of them
                    for name in variants:
                        runs[name].append(lighthouse(bases[name] + path, cookie))
                print(f"\nLighthouse, {path}, median of {args.runs}:")
                for name, taken in runs.items():
                    r = median_run(taken)
                    print(f"  {name:12} Performance {r['performance']:3}  TBT {r['tbt_ms']:4.0f} ms  "
                          f"TTI {r['tti_ms']:5.0f} ms  LCP {r['lcp_ms']:5.0f} ms  transferred {r['transfer_kib']:6.1f} KiB",
                          flush=True)
            clickable = [f"{name}={bases[name]}" for name in variants if name != "no wasm"]
            out = subprocess.run(["node", os.path.join(HERE, "tap.mjs"), str(args.loads), *clickable],
                                 env=dict(os.environ, TAP_COOKIE=cookie),
                                 check=True, stdout=subprocess.PIPE, text=True, timeout=3600).stdout
        finally:
            for running in proxies:
                running.shutdown()
                running.server_close()
    print(f"\nThrottled Chromium, until the dialog's form shows, median of {args.loads} (ratio to as served):")
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    medians = {(row["moment"], row["variant"]): statistics.median(run["ms"] for run in row["runs"]) for row in rows}
    for row in rows:
        median = medians[row["moment"], row["variant"]]
        ratio = median / medians[row["moment"], "as served"]
        # A run that needed more than one try reads "1234+1".
        runs = ", ".join(f"{run['ms']}" + (f"+{run['tries'] - 1}" if run["tries"] > 1 else "") for run in row["runs"])
        print(f"  {row['moment']:11} {row['variant']:12} {median:6.0f} ms  ({ratio:.2f})  runs {runs}")

if __name__ == "__main__":
    main()
