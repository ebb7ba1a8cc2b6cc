#!/usr/bin/env python3
"""The browser bundle: raw, gzip and brotli sizes of each file under
target/site/pkg (the .gz and .br files are the ones the server sends, made by
`cargo leptos build --release --precompress`), then what a first visit to
Settings > API Keys transfers in Chromium (end2end/tests/bundle.spec.ts,
counting response bytes), beside the 160 KB target; then what the first
opening of Add API Key fetches, and how long it takes on slow 4G.

Run after `make build`; `make bench` does both."""

import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(REPO, "target", "site", "pkg")
TARGET = 160_000


def size(path):
    return os.path.getsize(path) if os.path.exists(path) else None


def files():
    """Each served file of the bundle with its raw and precompressed sizes."""
    rows = []
    for name in sorted(os.listdir(PKG)):
        if name.endswith((".gz", ".br", ".d.ts")):
            continue
        path = os.path.join(PKG, name)
        rows.append((name, size(path), size(path + ".gz"), size(path + ".br")))
    return rows


def first_visit():
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        env = dict(os.environ, BUNDLE_REPORT=report.name)
        run = subprocess.run(["npx", "playwright", "test", "bundle.spec.ts"], cwd=os.path.join(REPO, "end2end"),
                             env=env, capture_output=True, text=True)
        if os.path.getsize(report.name) == 0:
            sys.exit(f"the first-visit measurement did not run:\n{run.stdout}\n{run.stderr}")
        with open(report.name) as out:
            visit = json.load(out)
        for extra in ("dialog", "slow"):
            path = f"{report.name}.{extra}"
            if os.path.exists(path):
                with open(path) as out:
                    visit[extra] = json.load(out)
                os.remove(path)
        return visit


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rows = files()
    if not any(gz for _, _, gz, _ in rows):
        sys.exit("no precompressed files under target/site/pkg: build with `cargo leptos build --release --precompress`")
    print(f"{'file':32} {'raw':>10} {'gzip':>10} {'brotli':>10}")
    for name, raw, gz, br in rows:
        print(f"{name:32} {raw:>10,} {gz or 0:>10,} {br or 0:>10,}")
    totals = [sum(row[i] or 0 for row in rows) for i in (1, 2, 3)]
    print(f"{'all':32} {totals[0]:>10,} {totals[1]:>10,} {totals[2]:>10,}")

    visit = first_visit()
    for file in visit["files"]:
        print(f"first visit: {file['url']:28} {file['bytes']:>10,} bytes ({file['encoding']})")
    total = visit["total"]
    print(f"first visit to /settings/api-keys transfers {total:,} bytes of wasm, JS and CSS: "
          f"{total / TARGET:.2f}x the {TARGET:,}-byte target ({'met' if total <= TARGET else 'not met'}); "
          f"make test's ceiling {visit['budget']:,}")
    if "dialog" in visit:
        print(f"the dialogs' code, fetched when the pointer reaches Add API Key: {visit['dialog']['bytes']:,} bytes "
              f"in {visit['dialog']['files']} files")
    if "slow" in visit:
        slow = visit["slow"]
        print(f"Add API Key to its focused form on slow 4G and a 4x slower CPU: first opening {slow['first_ms']} ms, "
              f"second {slow['second_ms']} ms (ratio {slow['first_ms'] / max(slow['second_ms'], 1):.2f})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"files": rows, "first_visit": visit}, out, indent=2)


if __name__ == "__main__":
    main()
