#!/usr/bin/env python3
"""The shop's benchmark: what each auth mode costs, how fast pages render, how small the WASM is.

Run through `make bench`, which builds the release shop first. This script starts that build on
a fresh SQLite database, fills it with a larger catalogue and a few hundred users, drives load
with wrk (64 connections, BENCH_SECONDS per scenario), and writes target/bench/summary.json.
"""
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# BENCH_OUT: where the run's database, wrk outputs and summary.json go (the benchmark's own
# check, scripts/check_bench.py, runs it into a folder of its own).
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "target" / "bench"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
ADDR = os.environ.get("BENCH_ADDR", "127.0.0.1:3200")
BASE = f"http://{ADDR}"
USERS = int(os.environ.get("BENCH_USERS", "300"))
# BENCH_BIN: the server binary to measure (default target/release/shop). To compare two builds,
# copy each binary elsewhere and point BENCH_BIN at the copies in turn: copying one over
# target/release/shop writes through cargo's hard link into target/release/deps, and cargo
# then takes the copy for an up-to-date build of whatever the sources are.
BIN = Path(os.environ.get("BENCH_BIN", ROOT / "target" / "release" / "shop"))
# BENCH_SCENARIOS=ssr_home,add_token runs only those (for trying a change; the goals need all).
ONLY = [name for name in os.environ.get("BENCH_SCENARIOS", "").split(",") if name]
SCENARIOS = ("static", "ssr_home", "ssr_product", "cart_session", "cart_token", "add_session", "add_token")
# Users whose credentials the load rotates through, per mode.
SIGNED_IN = min(USERS, 100)
EXTRA_PRODUCTS = 500
PASSWORD = "bench password 123"

# The goals the shop is held to (issue: benchmarks).
GOAL_BROTLI_BYTES = 150 * 1024
GOAL_HOME_RATIO = 0.35
GOAL_P99_MS = 20.0
GOAL_RSS_MB = 80.0


def say(text):
    print(f"\033[1;32m==>\033[0m {text}", flush=True)


def http(method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def start_server(database):
    env = dict(os.environ)
    env.update(
        LEPTOS_SITE_ADDR=ADDR,
        LEPTOS_SITE_ROOT=str(ROOT / "target" / "site"),
        LEPTOS_OUTPUT_NAME="shop",
        DATABASE_URL=f"sqlite://{database}",
        RUST_LOG="warn",
        # Hundreds of users sign up and in from this one address.
        AUTH_RATE_PER_CLIENT="1000000",
    )
    env.pop("JWT_SECRET", None)
    log = open(OUT / "server.log", "w")
    process = subprocess.Popen([str(BIN)], cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if http("GET", "/healthz")[0] == 200:
                return process
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None:
            sys.exit(f"the shop exited at start: see {OUT / 'server.log'}")
        time.sleep(0.2)
    sys.exit("the shop did not become healthy")


def fill_database(database):
    """A larger catalogue (the seed's 30 products plus EXTRA_PRODUCTS), stock to spare for the
    add-to-cart scenarios. Written straight into the database the server has just migrated."""
    import sqlite3

    db = sqlite3.connect(database, timeout=30)
    images = [row[0] for row in db.execute("SELECT image_url FROM products ORDER BY id")]
    categories = [row[0] for row in db.execute("SELECT id FROM categories ORDER BY id")]
    rows = []
    for n in range(EXTRA_PRODUCTS):
        rows.append(
            (
                f"market-item-{n}",
                f"Market item {n:03d}",
                "A seasonal item from the market stall, picked this week and priced by weight.",
                99 + (n * 37) % 2000,
                1_000_000,
                categories[n % len(categories)],
                images[n % len(images)],
            )
        )
    db.executemany(
        "INSERT INTO products (slug, name, description, price_cents, stock, category_id, image_url) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute("UPDATE products SET stock = 1000000")
    db.commit()
    db.close()


def make_users():
    """USERS accounts through the API; SIGNED_IN of them signed in with each kind of credential."""

    def register(n):
        email = f"bench{n}@example.com"
        status, _, body = http("POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD, "name": f"Bench {n}"})
        if status != 201:
            sys.exit(f"registration failed: {status} {body[:200]!r}")
        return email

    def login(email, mode):
        status, headers, body = http("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD, "mode": mode})
        if status != 200:
            sys.exit(f"sign-in failed: {status} {body[:200]!r}")
        if mode == "token":
            return "Authorization: Bearer " + json.loads(body)["token"]
        cookie = headers.get("set-cookie").split(";")[0]
        return "Cookie: " + cookie

    with ThreadPoolExecutor(max_workers=4) as pool:
        emails = list(pool.map(register, range(USERS)))
        sessions = list(pool.map(lambda e: login(e, "session"), emails[:SIGNED_IN]))
        tokens = list(pool.map(lambda e: login(e, "token"), emails[SIGNED_IN : 2 * SIGNED_IN] or emails[:SIGNED_IN]))
    return sessions, tokens


def product_ids():
    status, _, body = http("GET", "/api/v1/products?per_page=100&sort=name")
    assert status == 200, status
    return [p["id"] for p in json.loads(body)["items"]]


def prefill(credentials, products):
    """Three lines in every signed-in cart, so that reading a cart reads something."""

    def fill(credential):
        name, value = credential.split(": ", 1)
        for product in products[:3]:
            status, _, body = http("POST", "/api/v1/cart/items", {"product_id": product, "quantity": 2}, {name: value})
            if status != 200:
                sys.exit(f"filling a cart failed: {status} {body[:200]!r}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(fill, credentials))


LUA_ROTATE = """
-- Rotates through the credentials (one per signed-in user) and, for writes, the products.
local credentials = {%(credentials)s}
local products = {%(products)s}
local method, path = "%(method)s", "%(path)s"
local n = 0
request = function()
  n = n + 1
  local line = credentials[(n %% #credentials) + 1]
  local name, value = line:match("^([^:]+): (.*)$")
  local headers = { [name] = value }
  local body = nil
  if method == "POST" then
    local product = products[(math.floor(n / #credentials) %% #products) + 1]
    headers["Content-Type"] = "application/json"
    body = '{"product_id":' .. product .. ',"quantity":1}'
  end
  return wrk.format(method, path, headers, body)
end
"""


def lua_script(name, credentials, method, path, products=()):
    text = LUA_ROTATE % {
        "credentials": ", ".join(json.dumps(c) for c in credentials),
        "products": ", ".join(str(p) for p in products) or "0",
        "method": method,
        "path": path,
    }
    script = OUT / f"{name}.lua"
    script.write_text(text)
    return script


def to_ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(name, path, script=None):
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "--timeout", "5s"]
    if script:
        command += ["-s", str(script)]
    command.append(BASE + path)
    say(f"{name}: {' '.join(command[1:])}")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    (OUT / f"{name}.txt").write_text(output)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    result = {"rps": round(rps, 1), "p50_ms": round(p50, 3), "p99_ms": round(p99, 3)}
    if bad:
        result["non_2xx"] = int(bad.group(1))
    if errors:
        result["socket_errors"] = errors.group(0)
    return result


def sizes():
    pkg = ROOT / "target" / "site" / "pkg"
    files = sorted(p for p in pkg.iterdir() if p.suffix in (".wasm", ".js"))  # not the .br/.gz copies
    raw = gz = br = 0
    detail = {}
    for path in files:
        data = path.read_bytes()
        g = len(gzip.compress(data, compresslevel=9))
        b = len(subprocess.run(["brotli", "-c", "-q", "11", str(path)], check=True, capture_output=True).stdout)
        detail[path.name] = {"raw": len(data), "gzip": g, "brotli": b}
        raw, gz, br = raw + len(data), gz + g, br + b
    return {"raw": raw, "gzip": gz, "brotli": br}, detail


def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpus": os.cpu_count(), "cpu": cpu}


def main():
    for tool in ("wrk", "brotli"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: `make bench` installs it")
    if not BIN.is_file():
        sys.exit(f"{BIN} is missing: `make release` builds it")
    unknown = [name for name in ONLY if name not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenarios {unknown}: choose from {list(SCENARIOS)}")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    database = OUT / "shop.db"

    say(f"starting {BIN} on {BASE} (fresh database {database})")
    server = start_server(database)
    try:
        fill_database(database)
        say(f"registering {USERS} users, signing {SIGNED_IN} in with each kind of credential")
        sessions, tokens = make_users()
        products = product_ids()
        prefill(sessions + tokens, products)
        static_path = "/favicon.svg"  # a small file: the cost of an answer, not of bytes

        plan = {
            "static": lambda: wrk("static", static_path),
            "ssr_home": lambda: wrk("ssr_home", "/"),
            "ssr_product": lambda: wrk("ssr_product", "/products/banana"),
            "cart_session": lambda: wrk(
                "cart_session", "/api/v1/cart", lua_script("cart_session", sessions, "GET", "/api/v1/cart")
            ),
            "cart_token": lambda: wrk(
                "cart_token", "/api/v1/cart", lua_script("cart_token", tokens, "GET", "/api/v1/cart")
            ),
            "add_session": lambda: wrk(
                "add_session", "/api/v1/cart/items", lua_script("add_session", sessions, "POST", "/api/v1/cart/items", products)
            ),
            "add_token": lambda: wrk(
                "add_token", "/api/v1/cart/items", lua_script("add_token", tokens, "POST", "/api/v1/cart/items", products)
            ),
        }
        assert tuple(plan) == SCENARIOS
        scenarios = {name: run() for name, run in plan.items() if not ONLY or name in ONLY}
        rss = peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    if ONLY:
        for name, result in scenarios.items():
            print(f"{name:<14}{result['rps']:>10.0f} req/s  p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms")
        print(f"server peak memory (VmHWM): {rss} MB (BENCH_SCENARIOS: a partial run, no summary written)")
        return
    wasm, detail = sizes()
    summary = {
        "scenarios": scenarios,
        "wasm": wasm,
        "rss_peak_mb": rss,
        "files": detail,
        "settings": {"seconds": SECONDS, "connections": CONNECTIONS, "wrk_threads": THREADS, "users": USERS},
        "machine": machine(),
    }
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    ceiling = scenarios["static"]["rps"]
    print()
    print(f"{'scenario':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'÷ static':>10}  notes")
    for name, s in scenarios.items():
        notes = []
        if s.get("non_2xx"):
            notes.append(f"{s['non_2xx']} non-2xx")
        if s.get("socket_errors"):
            notes.append(s["socket_errors"])
        print(f"{name:<14}{s['rps']:>10.0f}{s['p50_ms']:>10.2f}{s['p99_ms']:>10.2f}{s['rps'] / ceiling:>10.2f}  {'; '.join(notes)}")
    print()
    for name, d in detail.items():
        print(f"{name:<20} raw {d['raw']:>9}  gzip {d['gzip']:>8}  brotli {d['brotli']:>8} bytes")
    print(f"{'WASM + JS':<20} raw {wasm['raw']:>9}  gzip {wasm['gzip']:>8}  brotli {wasm['brotli']:>8} bytes")
    print(f"server peak memory (VmHWM): {rss} MB")
    print()
    goals = [
        ("WASM + JS ≤ 150 KiB brotli", wasm["brotli"] <= GOAL_BROTLI_BYTES, f"{wasm['brotli'] / 1024:.1f} KiB"),
        ("SSR home ≥ 35 % of static", scenarios["ssr_home"]["rps"] >= GOAL_HOME_RATIO * ceiling, f"{100 * scenarios['ssr_home']['rps'] / ceiling:.0f} %"),
        ("token cart ≥ session cart", scenarios["cart_token"]["rps"] >= scenarios["cart_session"]["rps"], f"{scenarios['cart_token']['rps']:.0f} vs {scenarios['cart_session']['rps']:.0f} req/s"),
        ("p99 ≤ 20 ms everywhere", all(s["p99_ms"] <= GOAL_P99_MS for s in scenarios.values()), f"worst {max(s['p99_ms'] for s in scenarios.values()):.1f} ms"),
        ("peak memory < 80 MB", rss is not None and rss < GOAL_RSS_MB, f"{rss} MB"),
    ]
    for goal, met, figure in goals:
        print(f"  [{'met' if met else 'MISSED'}] {goal}: {figure}")
    print(f"\nwrote {OUT / 'summary.json'}")
    if any(s.get("non_2xx") for s in scenarios.values()):
        sys.exit("some requests were refused: the figures above are not of the intended work")


if __name__ == "__main__":
    main()
