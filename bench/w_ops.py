"""Workloads 5a and 6: start-up time, and authentication (login with OWASP argon2id, refresh).

- startup: seconds from spawning `gunicorn -c gunicorn.conf.py wsgi:app` to the first 200 from
  /api/health/live, a few times (the worst counts); B1's gunicorn start-up for comparison.
- auth: sequential logins (each a fresh client) against a user whose hash uses OWASP's minimum
  (m=19456 KiB, t=2, p=1; Kraken's default), compared with argon2id verify alone in this process;
  then refresh-token rotation in a closed loop from a few clients, each keeping its own cookie.
"""
from __future__ import annotations

import threading
import time

import requests

import harness
import seed
from common import percentile
from report import Row


def startup(cfg, world, details: dict) -> list[Row]:
    ours, base = [], []
    for _ in range(cfg.startup_runs):
        for kind, into in (("kraken", ours), ("b1", base)):
            server = harness.kraken_server(world.env) if kind == "kraken" else harness.baseline_server("b1")
            try:
                into.append(round(server.start().ready_seconds, 2))
            finally:
                server.stop()
    details["startup"] = {"kraken_s": ours, "b1_s": base}
    return [Row("5 start-up", f"process ready (worst of {len(ours)})", max(ours), "s", "B1", max(base), ("<=", 5),
                f"runs {ours} (B1 {base})")]


def _login(url: str, username: str) -> tuple[float, requests.Session]:
    client = requests.Session()
    started = time.perf_counter()
    response = client.post(url + "/api/auth/login", json={"username": username, "password": seed.PASSWORD},
                           timeout=30)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000, client


def _argon2_verify_ms(samples: int) -> list[float]:
    from argon2 import PasswordHasher
    hasher = PasswordHasher(**seed.OWASP)
    hashed = hasher.hash(seed.PASSWORD)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        hasher.verify(hashed, seed.PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _refresh_loop(url: str, username: str, seconds: float, clients: int) -> dict:
    sessions = [_login(url, username)[1] for _ in range(clients)]
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def lane(client: requests.Session) -> None:
        while time.monotonic() < end:
            started = time.perf_counter()
            response = client.post(url + "/api/auth/refresh", timeout=30)
            took = (time.perf_counter() - started) * 1000
            with lock:
                if response.status_code == 200 and response.json().get("accessToken"):
                    latencies.append(took)
                else:
                    failures[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=lane, args=(c,)) for c in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    half = len(latencies) // 2
    return {"clients": clients, "seconds": round(elapsed, 2), "ok": len(latencies), "failed": failures[0],
            "per_s": round(len(latencies) / elapsed, 1), "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "first_half_p50_ms": round(percentile(latencies[:half], 50), 1) if half else None,
            "second_half_p50_ms": round(percentile(latencies[half:], 50), 1) if half else None}


def auth(cfg, world, details: dict, b1_rps: float | None) -> list[Row]:
    server = harness.kraken_server(world.env).start()
    try:
        _login(server.url, world.login_username)  # first-use costs (dummy hash, imports)
        with harness.CpuMeter(server=server.worker_pid) as cpu:
            logins = [_login(server.url, world.login_username)[0] for _ in range(cfg.login_samples)]
        refresh = _refresh_loop(server.url, world.login_username, cfg.refresh_seconds, cfg.refresh_clients)
    finally:
        server.stop()
    argon = _argon2_verify_ms(cfg.login_samples)
    res = {"login_ms": [round(x, 1) for x in logins], "login_p50_ms": round(percentile(logins, 50), 1),
           "login_p99_ms": round(percentile(logins, 99), 1), "argon2_verify_p50_ms": round(percentile(argon, 50), 1),
           "argon2_verify_p99_ms": round(percentile(argon, 99), 1),
           "login_server_cpu_ms": round(cpu.used.get("server", 0) / len(logins) * 1000, 1), "refresh": refresh,
           "argon2": dict(seed.OWASP, variant="argon2id")}
    details["auth"] = res
    return [
        Row("6 auth", f"login p99, argon2id m=19456 KiB t=2 p=1 ({len(logins)} sequential)", res["login_p99_ms"],
            "ms", "argon2 verify", res["argon2_verify_p99_ms"],
            note=f"login p50 {res['login_p50_ms']} ms; server CPU {res['login_server_cpu_ms']} ms/login; the "
                 f"hash runs in gevent's thread pool (argon2-cffi releases the GIL), so the hub keeps serving"),
        Row("6 auth", f"refresh rotations/s ({refresh['clients']} clients, closed loop)", refresh["per_s"], "/s",
            "B1", b1_rps, note=f"p50/p99 {refresh['p50_ms']}/{refresh['p99_ms']} ms; p50 first/second half "
                               f"{refresh['first_half_p50_ms']}/{refresh['second_half_p50_ms']} ms; "
                               f"failed {refresh['failed']}"),
    ]
