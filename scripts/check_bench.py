#!/usr/bin/env python3
"""The benchmark's own test (`make test-bench`, part of `make test`).

Runs scripts/bench.py for one second per scenario against the shop `make test-e2e` has just
built (target/debug/shop and target/site: the figures of a debug build mean nothing, the run is
short, and no timing is checked), then checks what the run left:
- summary.json has the shape the benchmark issue fixes, with a figure for every scenario;
- every scenario's requests were answered 2xx (bench.py itself exits non-zero otherwise);
- the add-to-cart scenarios really added: the carts hold more than the prefill put in them;
- the sizes are of the bundle the server sends (raw > gzip > brotli > 0), and the peak memory was read;
- an unknown scenario name is refused before anything starts.
"""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "bench-check"
BIN = Path(os.environ.get("SHOP_BIN", ROOT / "target" / "debug" / "shop"))
SCENARIOS = {"static", "ssr_home", "ssr_product", "cart_session", "cart_token", "add_session", "add_token"}
USERS = 8  # fewer than 200, so each user is signed in with both kinds of credential
PREFILL_PER_USER = 2 * 3 * 2  # both credentials' prefill: 3 lines of 2 each


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench(**extra):
    env = dict(os.environ)
    env.update(
        BENCH_BIN=str(BIN),
        BENCH_OUT=str(OUT),
        BENCH_SECONDS="1",
        BENCH_CONNECTIONS="8",
        BENCH_USERS=str(USERS),
        BENCH_ADDR=f"127.0.0.1:{free_port()}",
    )
    env.pop("BENCH_SCENARIOS", None)
    env.update(extra)
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py")], env=env, capture_output=True, text=True)


failures = []


def check(condition, what):
    print(f"  [{'ok' if condition else 'FAILED'}] {what}")
    if not condition:
        failures.append(what)


def positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def main():
    if not BIN.is_file() or not (ROOT / "target" / "site" / "pkg").is_dir():
        sys.exit(f"{BIN} or target/site is missing: `make test-e2e` (cargo leptos build) builds them")

    shutil.rmtree(OUT, ignore_errors=True)
    print("an unknown scenario is refused before the shop starts")
    refused = bench(BENCH_SCENARIOS="static,nonsense")
    check(refused.returncode != 0, "bench.py exits non-zero")
    check("unknown scenarios" in refused.stderr, f"and says why: {refused.stderr.strip()[:120]!r}")
    check(not (OUT / "server.log").exists(), "no server was started")

    print("a full run, one second per scenario")
    run = bench()
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
    check(run.returncode == 0, "bench.py succeeds (it exits non-zero when any request was not answered 2xx)")
    summary_path = OUT / "summary.json"
    check(summary_path.is_file(), "it writes summary.json")
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    summary = json.loads(summary_path.read_text())

    check(set(summary["scenarios"]) == SCENARIOS, f"every scenario, no other: {sorted(summary['scenarios'])}")
    for name, figures in summary["scenarios"].items():
        has = all(positive(figures.get(k)) for k in ("rps", "p50_ms", "p99_ms"))
        check(has and figures["p50_ms"] <= figures["p99_ms"], f"{name}: rps, p50_ms <= p99_ms, all positive: {figures}")
        check("non_2xx" not in figures, f"{name}: every answer 2xx")
    wasm = summary["wasm"]
    check(set(wasm) == {"raw", "gzip", "brotli"}, "wasm: raw, gzip, brotli")
    check(all(isinstance(wasm[k], int) for k in wasm) and wasm["raw"] > wasm["gzip"] > wasm["brotli"] > 0, f"sizes in bytes, raw > gzip > brotli > 0: {wasm}")
    files = summary.get("files", {})
    check(any(n.endswith(".wasm") for n in files) and any(n.endswith(".js") for n in files), f"the WASM and the JS counted together: {sorted(files)}")
    check(positive(summary["rss_peak_mb"]), f"peak memory read: {summary['rss_peak_mb']} MB")

    db = sqlite3.connect(OUT / "shop.db")
    (users,) = db.execute("SELECT COUNT(*) FROM users").fetchone()
    (quantity,) = db.execute("SELECT COALESCE(SUM(quantity), 0) FROM cart_lines").fetchone()
    db.close()
    check(users == USERS, f"{USERS} users registered: {users}")
    check(quantity > USERS * PREFILL_PER_USER, f"the adds landed: {quantity} items in the carts, prefill {USERS * PREFILL_PER_USER}")

    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("the benchmark runs and reports what it should")


if __name__ == "__main__":
    main()
