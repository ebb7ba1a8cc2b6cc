#!/usr/bin/env python3
"""Prints the medians criterion measured for `cargo bench --bench verify` and their ratio."""

import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target", "criterion", "verify")


def median_ns(case, keys=None):
    path = os.path.join(ROOT, case, str(keys) if keys else "", "new", "estimates.json")
    with open(os.path.normpath(path)) as f:
        return json.load(f)["median"]["point_estimate"]


try:
    small, large = median_ns("hit", 100), median_ns("hit", 100000)
except FileNotFoundError:
    sys.exit("no criterion results: run cargo bench --bench verify first")
print(f"verify, cache hit, 100 keys:     median {small:8.1f} ns")
print(f"verify, cache hit, 100,000 keys: median {large:8.1f} ns  (target <= 2000 ns)")
print(f"ratio 100,000 / 100 keys: {large / small:.2f} (target <= 1.5)")
for case, keys in (("unknown", 100), ("unknown", 100000)):
    print(f"unknown token (to the database), {keys:>7,} keys: median {median_ns(case, keys):8.1f} ns in memory")
print(f"malformed token (refused before any lookup): median {median_ns('malformed'):8.1f} ns")
