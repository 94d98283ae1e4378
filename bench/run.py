"""`make bench`: Kraken's performance against baselines measured in the same run (issue #7).

Usage: .venv/bin/python bench/run.py [--quick] [--only fanout,rest,...] [--history-sizes 10000,100000]
Workloads: startup, fanout (1 + 2a throughput), persisted (2b), memory (3), recovery (5b), rest (4),
auth (6), dbscan (evidence: how FerretDB answers Kraken's queries), scale (issue 15: the hot queries
from 10k to 1M messages and 1k to 100k users, on stores of its own). Baselines: B0 bare
python-socketio, B1 trivial Flask JSON, both under Kraken's gunicorn + gevent-websocket worker;
B2 bare Node socket.io 4 and B0r (B0 + Redis queue) as information. Needs `make services` (except
`--only scale`, which starts and stops its own PostgreSQL, FerretDB and Redis on free ports).

Loopback only; every loop is bounded in count and time; private databases `kraken_bench_*` and
its Redis DB are dropped at the end. Prints the table and writes bench/results/<timestamp>.json;
raw py-spy profiles go to bench/results/profiles/ (all git-ignored).
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from dataclasses import dataclass, field, fields

import common  # noqa: F401 - puts the repository on sys.path
import harness
import report
import seed

WORKLOADS = ("dbscan", "startup", "fanout", "persisted", "memory", "recovery", "rest", "auth", "scale", "search",
             "moderation", "thumbnail", "members", "notifications", "admin")


@dataclass
class Config:
    users: int = 200
    fanout_sizes: list[int] = field(default_factory=lambda: [100, 500, 1000, 2000])
    fanout_main: int = 500
    rate: float = 5.0
    messages_main: int = 100
    messages_curve: int = 50
    throughput_seconds: float = 12
    throughput_window: int = 32
    extra_baselines: bool = True
    persist_seconds: float = 12
    persist_senders: int = 4
    persist_window: int = 4
    persist_receivers: int = 10
    memory_sockets: int = 10000
    recovery_clients: int = 5000
    recovery_timeout: float = 150
    history_sizes: list[int] = field(default_factory=lambda: [10000, 100000, 1000000])
    history_wrk_max_ms: float = 2000
    history_max_request_s: float = 10  # Kraken's MongoDB socketTimeoutMS: a slower request fails
    wrk_seconds: float = 8
    wrk_connections: int = 20
    login_samples: int = 30
    refresh_seconds: float = 8
    refresh_clients: int = 4
    startup_runs: int = 3
    profile: bool = True
    # scale (issue 15, w_scale.py)
    scale_messages: list[int] = field(default_factory=lambda: [10000, 100000, 1000000])
    scale_users: list[int] = field(default_factory=lambda: [1000, 100000])
    scale_samples: int = 100  # per series (cold and warm each)
    scale_series_s: float = 120  # a series stops after this long (at least 5 samples)
    scale_budget_s: float = 20  # an old-design query on the SQLite store, per sample
    scale_old_seconds: float = 30  # samples of one old query at one size (at least 2)
    scale_probes: int = 100  # users in 20 communities (connect, communities list, roles)
    scale_communities: int = 50
    scale_channels: int = 20  # TEXT channels per community
    scale_big_members: int = 10000
    scale_max_minutes: float = 150
    scale_diag_samples: int = 10  # requests per row on a server counting its database commands
    scale_app: str = "tree"  # the app under test: the working tree, or a git revision (git archive)
    scale_ack_before: str = "d092263"  # issue 20's send-ack row: the app before issue 20 (git archive)
    # search (issue 20 item 6, w_search.py): community search on the shared store, a database per size
    search_messages: list[int] = field(default_factory=lambda: [10000, 100000, 1000000])
    search_samples: int = 100
    # moderation (issue 21, w_moderation.py): bans measured, each of a member connected to the other process
    ban_samples: int = 50
    # members (issue 21 item 8, w_members.py): member search in a community of this many members
    member_sizes: list[int] = field(default_factory=lambda: [10000])
    member_samples: int = 100
    # admin (issue 22, w_admin.py): admin user search and instance stats; the sizes are 100k users
    # and 1M messages (--admin-users 100000 --admin-messages 1000000), seeding them takes minutes
    admin_users: int = 2000
    admin_messages: int = 10000
    admin_samples: int = 200


QUICK = dict(users=50, fanout_sizes=[50, 100, 200], fanout_main=100, messages_main=25, messages_curve=15,
             throughput_seconds=4, extra_baselines=False, persist_seconds=4, memory_sockets=500,
             recovery_clients=300, recovery_timeout=60, history_sizes=[10000], wrk_seconds=3, login_samples=8,
             refresh_seconds=3, startup_runs=1, profile=False, scale_messages=[5000, 20000],
             scale_users=[500, 2000], scale_samples=20, scale_old_seconds=8, scale_probes=20, scale_max_minutes=20,
             scale_diag_samples=3, search_messages=[2000, 10000], search_samples=20, ban_samples=10,
             member_sizes=[2000], member_samples=20)


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x]


def parse(argv: list[str]) -> tuple[Config, argparse.Namespace]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a short smoke run with small sizes (~3 minutes)")
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(WORKLOADS)}")
    p.add_argument("--users", type=int, help="member accounts the sockets are spread over (default 200)")
    p.add_argument("--fanout-sizes", type=_ints, help="receivers per step, e.g. 100,500,1000,2000")
    p.add_argument("--fanout-main", type=int, help="the size with the target, throughput and profile (500)")
    p.add_argument("--messages", type=int, help="messages at the main fan-out size (100)")
    p.add_argument("--memory-sockets", type=int, help="idle sockets for the memory workload (10000)")
    p.add_argument("--recovery-clients", type=int, help="clients for the recovery workload (5000)")
    p.add_argument("--history-sizes", type=_ints, help="stored messages per history step (10000,100000,1000000)")
    p.add_argument("--history-max-request-s", type=float, help="skip a size whose cold request would take longer (10)")
    p.add_argument("--scale-messages", type=_ints, help="scale: stored messages per step (10000,100000,1000000)")
    p.add_argument("--scale-users", type=_ints, help="scale: users per step (1000,100000)")
    p.add_argument("--scale-samples", type=int, help="scale: samples per series, cold and warm each (100)")
    p.add_argument("--scale-budget-s", type=float, help="scale: seconds an old-design query may take (20)")
    p.add_argument("--scale-old-seconds", type=float, help="scale: seconds of samples per old query and size (30)")
    p.add_argument("--scale-probes", type=int, help="scale: users in 20 communities used as clients (100)")
    p.add_argument("--scale-communities", type=int, help="scale: communities (50, at least 20)")
    p.add_argument("--scale-channels", type=int, help="scale: TEXT channels per community (20)")
    p.add_argument("--scale-big-members", type=int, help="scale: members of the big community (10000)")
    p.add_argument("--scale-max-minutes", type=float, help="scale: skip the steps left after this long (150)")
    p.add_argument("--scale-app", help="scale: the app under test, `tree` (the working tree, default) or a git "
                   "revision exported with git archive (e.g. HEAD: holds still while others edit the tree)")
    p.add_argument("--scale-ack-before", help="scale: the revision before issue 20 whose sendMessage ack is the "
                   "baseline of row 10 (d092263)")
    p.add_argument("--scale-diag-samples", type=int, help="scale: requests per row on a server that counts its "
                   "database commands (10; 0: none)")
    p.add_argument("--search-messages", type=_ints, help="search: stored messages per size (10000,100000,1000000)")
    p.add_argument("--search-samples", type=int, help="search: requests per series, cold and warm each (100)")
    p.add_argument("--ban-samples", type=int, help="moderation: bans measured (50)")
    p.add_argument("--member-sizes", type=_ints, help="members: members of the searched community (10000)")
    p.add_argument("--member-samples", type=int, help="members: requests per series, cold and warm each (100)")
    p.add_argument("--admin-users", type=int, help="admin: users (2000; the issue's size is 100000)")
    p.add_argument("--admin-messages", type=int, help="admin: messages (10000; the issue's size is 1000000)")
    p.add_argument("--admin-samples", type=int, help="admin: requests per row (200)")
    p.add_argument("--profile", dest="profile", action="store_true", default=None, help="py-spy the hot paths")
    p.add_argument("--no-profile", dest="profile", action="store_false")
    p.add_argument("--max-minutes", type=float, default=25, help="skip the workloads left after this long")
    args = p.parse_args(argv)
    cfg = Config(**(QUICK if args.quick else {}))
    for f in fields(Config):
        value = getattr(args, f.name, None)
        if value is not None:
            setattr(cfg, f.name, value)
    if args.messages:
        cfg.messages_main = args.messages
    if cfg.fanout_main not in cfg.fanout_sizes:
        cfg.fanout_sizes = sorted({*cfg.fanout_sizes, cfg.fanout_main})
    only = [w.strip() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = set(only) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    args.only = [w for w in WORKLOADS if w in only]
    return cfg, args


def _check_services() -> None:
    import redis
    from pymongo import MongoClient
    try:
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{seed.REDIS_DB}", socket_timeout=2).ping()
        MongoClient("mongodb://127.0.0.1:27017", serverSelectionTimeoutMS=3000).admin.command("ping")
    except Exception as exc:
        sys.exit(f"bench: FerretDB/Redis not answering ({exc!r}); run `make services` first")


def main(argv: list[str]) -> int:
    cfg, args = parse(argv)
    started = time.time()
    nofile = harness.raise_nofile()
    harness.ensure_tools()
    if set(args.only) - {"scale"}:  # `scale` runs on stores of its own
        _check_services()
    out_dir = report.RESULTS / "profiles" / time.strftime("%Y%m%d-%H%M%S")
    print(f"bench: {', '.join(args.only)}{' (quick)' if args.quick else ''}; open files {nofile}", flush=True)
    rows: list[report.Row] = []
    details: dict = {"config": cfg.__dict__}
    worlds: dict[str, seed.World] = {}

    def world(kind: str) -> seed.World:
        if kind not in worlds:
            if kind == "rt":
                worlds[kind] = seed.populate(seed.open_world("kraken_bench_rt"), cfg.users)
            else:
                worlds[kind] = seed.populate(seed.open_world("kraken_bench_rest"), 20, login_user=True)
        return worlds[kind]

    from w_capacity import memory, persisted, recovery
    from w_ops import auth, startup
    import w_realtime
    import w_rest
    import w_scale
    import w_moderation
    import w_search
    import w_files
    import w_members
    import w_notifications
    import w_admin
    steps = {
        "dbscan": lambda: w_rest.dbscan(world("rest"), details),
        "startup": lambda: startup(cfg, world("rt"), details),
        "fanout": lambda: w_realtime.run(cfg, world("rt"), out_dir, details),
        "persisted": lambda: persisted(cfg, world("rt"), out_dir, details),
        "memory": lambda: memory(cfg, world("rt"), details),
        "recovery": lambda: recovery(cfg, world("rt"), details),
        "rest": lambda: w_rest.run(cfg, world("rest"), out_dir, details),
        "auth": lambda: auth(cfg, world("rest"), details, (details.get("rest") or {}).get("b1", {}).get(
            "requests_per_s")),
        "scale": lambda: w_scale.run(cfg, out_dir, details),
        "search": lambda: w_search.run(cfg, details),
        "moderation": lambda: w_moderation.run(cfg, details),
        "thumbnail": lambda: w_files.run(cfg, details),
        "members": lambda: w_members.run(cfg, details),
        "notifications": lambda: w_notifications.run(cfg, details),
        "admin": lambda: w_admin.run(cfg, details),
    }
    try:
        for name in args.only:
            if time.time() - started > args.max_minutes * 60:
                rows.append(report.Row(name, "skipped", None, "", note=f"--max-minutes {args.max_minutes} reached"))
                continue
            t = time.time()
            print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
            try:
                rows.extend(steps[name]())
            except Exception as exc:
                traceback.print_exc()
                rows.append(report.Row(name, "error", None, "", target=("<=", 0), note=repr(exc)[:300],
                                       extra_checks=[("ran", False)]))
            print(f"[{time.strftime('%H:%M:%S')}] {name} done in {time.time() - t:.0f} s", flush=True)
    finally:
        for w in worlds.values():
            try:
                seed.drop(w)
            except Exception as exc:  # report, but never hide the results
                print(f"bench: could not drop {w.db}: {exc!r}", file=sys.stderr)
    print()
    print(report.table(rows))
    _print_profiles(details)
    path = report.write(rows, details, {"argv": argv, "only": args.only, "quick": args.quick}, started)
    print(f"\nresults: {path} ({time.time() - started:.0f} s)")
    return 0


def _print_profiles(details: dict) -> None:
    found = [(f"fan-out {kind}", s.get("profile")) for kind, s in (details.get("realtime") or {}).items()
             if isinstance(s, dict)]
    found.append(("send path (persisted, process a)", details.get("profile_send_path")))
    found.append(("REST channels list", (details.get("rest") or {}).get("profile_channels")))
    for title, prof in found:
        if not prof:
            continue
        print(f"\nprofile: {title}" + (f" ({prof.get('samples')} samples, {prof.get('raw')})" if "raw" in prof else ""))
        if "error" in prof:
            print(f"  {prof['error']}")
            continue
        print("  self time by library: " + ", ".join(f"{k} {v}%" for k, v in prof["by_library"][:8]))
        print("  top self time: " + "; ".join(f"{k} {v}%" for k, v in prof["self"][:8]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
