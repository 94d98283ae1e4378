"""Issue 20's rows of the `scale` workload (bench/w_scale.py), on the same stores and data:

8. direct-message history (`GET /api/messages/group/:id?limit=50`), the newest page and the page 20
   pages (1,000 positions) back, of the hot conversation (1 message in DM_SHARE), cold and warm:
   p99 <= 50 ms at every size.
9. `GET /api/read-receipts/unread-counts` for a user in 20 communities x K channels (K =
   --scale-channels, 20 by default: twice the issue's 10) and 51 DMs, cold and warm: p99 <= 50 ms at 1M.
   Cold is an empty Redis: the conversations' last numbers are read from their counters (one equality
   per community and one for the user's DM groups) and the communities' channel indexes, then mirrored
   again.
10. `sendMessage` ack p99 with search indexing and read-state counters on, against the app before
   issue 20 (--scale-ack-before, default d092263, exported with `git archive`), same stores, same run:
   servers alternate (before, after) ACK_ROUNDS times, each sending ACK_MESSAGES at ACK_RATE/s to
   ACK_RECEIVERS receivers in a channel of its own; target: after / before <= 1.2 (median of the rounds'
   p99s).
Row 7 (around a message 100k back) is measured with the channel history (w_scale.step_history).
"""
from __future__ import annotations

import statistics
import subprocess

import harness
from common import ROOT
from report import Row

W = "20 conversations"
DM_BACK = 1000  # 20 pages of 50
ACK_ROUNDS, ACK_MESSAGES, ACK_RATE, ACK_RECEIVERS = 4, 200, 10.0, 10


def history_paths(data) -> tuple[dict, dict]:
    """Paths of rows 8 and 9 for w_scale.step_history's cold/warm series, and a check per path."""
    from scale_data import DMS_PER_PROBE
    dm = data.hot_dm
    top = data.last_seq(dm)
    back = min(DM_BACK, top - 51)
    token = data.message_at(dm, top - back)
    newest, before = str(data.message_at(dm, top)["_id"]), str(data.message_at(dm, top - back - 1)["_id"])
    base = f"/api/messages/group/{dm}?limit=50"
    paths = {"dm_newest": base, "dm_back": f"{base}&continuationToken={token['_id']}",
             "unread": "/api/read-receipts/unread-counts"}

    def page(first_id):
        def ok(response):
            messages = (response.json().get("messages") or []) if response.status_code == 200 else []
            return len(messages) == 50 and messages[0]["id"] == first_id
        return ok

    def unread(response):
        if response.status_code != 200:
            return False
        dms = [i for i in response.json() if i.get("directMessageGroupId")]
        return len(dms) == DMS_PER_PROBE + 1 and any(i["directMessageGroupId"] == str(dm) and i["unreadCount"] > 0
                                                     for i in dms)

    info = {"dm_messages": top, "dm_positions_back": back, "dm_groups": data.dm_groups}
    return paths, {"dm_newest": page(newest), "dm_back": page(before), "unread": unread, "info": info}


def _archive(run, rev: str, name: str):
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    app_dir = run.stores.root / name
    app_dir.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(app_dir)], input=archive.stdout, check=True)
    subject = subprocess.run(["git", "log", "-1", "--format=%s", commit], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
    return app_dir, commit, subject


def step_ack(run, size: int) -> None:
    """Row 10: the send ack before issue 20 and now, alternating servers on the same stores."""
    cfg, data = run.cfg, run.data
    before_dir, commit, subject = _archive(run, cfg.scale_ack_before, "app-before-20")
    apps = {"before": before_dir, "after": run.app_dir}
    community = data.communities[1]  # a community of the probe users, away from the hot channel
    channels = {"before": community["text"][2], "after": community["text"][3]}
    receivers = [data.token(i) for i in range(ACK_RECEIVERS)]
    out = {"before_commit": commit, "before_subject": subject, "rounds": {"before": [], "after": []},
           "messages": ACK_MESSAGES, "rate": ACK_RATE, "receivers": ACK_RECEIVERS, "stored_at_start": data.messages}
    for _ in range(ACK_ROUNDS):
        for side in ("before", "after"):
            server = harness.Server(f"kraken-scale-ack-{side}", [str(harness.VENV_BIN / "gunicorn"), "-c",
                                                                 "gunicorn.conf.py", "wsgi:app"],
                                    apps[side], data.env, "/api/health/live").start(timeout=60)
            lg = harness.Loadgen(f"loadgen-scale-ack-{side}")
            try:
                lg.call("connect", url=server.url, protocol="kraken", target=str(community["id"]), role="receiver",
                        tokens=receivers, count=ACK_RECEIVERS)
                lg.call("connect", url=server.url, protocol="kraken", target=str(channels[side]), role="sender",
                        tokens=[data.token(0)], count=1)
                lg.call("fanout", messages=10, rate=ACK_RATE, timeout=60)  # caches of a fresh process, unmeasured
                fan = lg.call("fanout", messages=ACK_MESSAGES, rate=ACK_RATE, timeout=ACK_MESSAGES / ACK_RATE + 60)
            finally:
                lg.close()
                server.stop()
            out["rounds"][side].append({k: fan.get(k) for k in ("ack_p50_ms", "ack_p99_ms", "p99_ms", "deliveries",
                                                                 "expected", "send_errors")})
    for side in ("before", "after"):
        out[f"{side}_ack_p99_ms"] = statistics.median(r["ack_p99_ms"] for r in out["rounds"][side])
        out[f"{side}_ack_p50_ms"] = statistics.median(r["ack_p50_ms"] for r in out["rounds"][side])
    run.res["ack"][size] = out
    print(f"  scale: sendMessage ack p99 before issue 20 ({commit[:10]}) {out['before_ack_p99_ms']} ms, now "
          f"{out['after_ack_p99_ms']} ms (median of {ACK_ROUNDS} rounds)", flush=True)


def rows(res: dict, diag_note, machine_note) -> list[Row]:
    out: list[Row] = []
    hist = res["history"]
    for size in sorted(hist):
        h = hist[size]
        if "dm_newest" not in h["cold"]:
            continue
        info = h["conversations"]
        for kind, what in (("dm_newest", "newest page"), ("dm_back", f"page {info['dm_positions_back']:,} back")):
            for mode in ("cold", "warm"):
                s = h[mode][kind]
                out.append(Row(W, f"8 DM history {what}, limit=50, {size:,} msgs (DM {info['dm_messages']:,}), "
                                  f"{mode}: p99", s["p99_ms"], "ms", target=("<=", 50),
                               note=f"p50 {s['p50_ms']}, max {s['max_ms']} ms, n {s['n']}" + diag_note(h, kind, mode)
                                    + machine_note(res, f"history {size}"),
                               extra_checks=[("right pages", h[mode]["wrong_pages"] == 0)]))
        last = size == max(hist)
        for mode in ("cold", "warm"):
            s = h[mode]["unread"]
            out.append(Row(W, f"9 unread-counts, 20 communities x {res['config'].get('scale_channels')} channels + "
                              f"51 DMs, {size:,} msgs, {mode}: p99", s["p99_ms"], "ms",
                           target=("<=", 50) if last else None,
                           note=f"p50 {s['p50_ms']}, max {s['max_ms']} ms, n {s['n']}" + diag_note(h, "unread", mode)
                                + ("; cold = empty Redis: every last number from its counter" if mode == "cold" else "")
                                + ("" if last else "; information (the target is at 1M)")
                                + machine_note(res, f"history {size}"),
                           extra_checks=[("right answers", h[mode]["wrong_pages"] == 0)]))
    for size, a in sorted(res.get("ack", {}).items()):
        sent_ok = all(r["send_errors"] == 0 for side in a["rounds"].values() for r in side)
        out.append(Row(W, f"10 sendMessage ack p99, {a['stored_at_start']:,} stored, search indexing and counters on",
                       a["after_ack_p99_ms"], "ms", f"before issue 20 ({a['before_commit'][:10]})",
                       a["before_ack_p99_ms"], ("ratio<=", 1.2),
                       note=f"median of {len(a['rounds']['after'])} alternating rounds, {a['messages']} messages at "
                            f"{a['rate']:g}/s to {a['receivers']} receivers each; ack p50 {a['after_ack_p50_ms']} vs "
                            f"{a['before_ack_p50_ms']} ms; rounds after {[r['ack_p99_ms'] for r in a['rounds']['after']]}"
                            f", before {[r['ack_p99_ms'] for r in a['rounds']['before']]}"
                            + machine_note(res, f"ack {size}"),
                       extra_checks=[("no send error", sent_ok)]))
    return out
