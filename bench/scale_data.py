"""Private stores and bulk data for the `scale` workload (issue 15, bench/w_scale.py).

`PrivateStores` starts, through scripts/services.sh and on free loopback ports under a temporary
KRAKEN_SERVICES_DIR, the stores the workload owns (never the shared 27017/6379/5433):
- "new": PostgreSQL + FerretDB 1.24 on it (the default store, with services/ferretdb's GIN keeper)
  and a Redis for the app servers;
- "old": FerretDB 1.24 on SQLite (KRAKEN_FERRETDB_HANDLER=sqlite), the store before it.
`stop()` stops them (the PostgreSQL cluster is ephemeral) and removes the directory.

`ScaleData` fills both with the same data, built in the app's exact document shapes (a template
from each model's `to_mongo()`, copied per document) and written with `insert_many`:
- an instance owner and N communities made by the app's own services (roles, `general`/`General`),
  plus TEXT channels up to K per community;
- users (one OWASP argon2id hash shared by all), each with memberships and the Member role
  assignment the app gives on joining: the first `probes` users are in 20 communities, the first
  `big_members` users in community 0 (the big one), everyone else in 1-2 random communities;
- messages: 10% in one hot channel (`general` of the big community), the rest spread at random over
  every other TEXT channel; numbered by the app's own `kraken.messages.timeline.number` (one `$inc`
  per channel per chunk on `message_counters`, `seq` and `bucket` on each document), so the new
  store holds what the app would store. The old store gets the same documents without `seq` and
  `bucket` (the old design had neither) and no counters;
- direct messages (issue 20, `make_dms`, new store only): one hot conversation between users 0 and 1
  receiving 1 message in DM_SHARE, and DMS_PER_PROBE conversations of each probe user with one message
  each (the unread-counts row's user is in 20 communities x K channels + DMS_PER_PROBE + 1 DMs).
The search index (issue 20, kraken/search) is not built for the bulk history: `search_progress` marks
every conversation indexed up to its counter, so the app servers' search tasks index only what the
measurements send (the search rows are bench/w_search.py's, on data of their own).
Sizes grow in steps (`grow_users`, `grow_messages`); each step is timed per store.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bson import ObjectId

from common import ROOT, server_env
from harness import VENV_BIN, free_port
from seed import OWASP, PASSWORD

DB = "kraken_scale"
HOT_SHARE = 10  # one message in HOT_SHARE goes to the hot channel
DM_SHARE = 20  # one message in DM_SHARE goes to the hot direct-message conversation (once make_dms ran)
DMS_PER_PROBE = 50
_WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
          "dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea "
          "commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla pariatur "
          "excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est "
          "laborum ok thanks see you tomorrow deploy failed again works on my machine ship it").split()


class PrivateStores:
    """The workload's own PostgreSQL + FerretDB ("new"), FerretDB on SQLite ("old") and Redis."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="kraken-scale-"))
        self.dirs = {"new": self.root / "new", "old": self.root / "old"}
        for d in self.dirs.values():
            d.mkdir()
        self.pg_port, self.redis_port = free_port(), free_port()
        self.ferretdb_ports = {"new": free_port(), "old": free_port()}
        self.started: list[str] = []

    def _env(self, which: str) -> dict[str, str]:
        return {**os.environ, "KRAKEN_SERVICES_DIR": str(self.dirs[which]),
                "KRAKEN_SERVICES": "postgres ferretdb redis" if which == "new" else "ferretdb",
                "KRAKEN_FERRETDB_HANDLER": "postgresql" if which == "new" else "sqlite",
                "KRAKEN_FERRETDB_PORT": str(self.ferretdb_ports[which]), "KRAKEN_REDIS_PORT": str(self.redis_port),
                "KRAKEN_POSTGRES_PORT": str(self.pg_port), "KRAKEN_POSTGRES_EPHEMERAL": "1"}

    def _run(self, which: str, action: str, timeout: float = 600) -> None:
        done = subprocess.run([str(ROOT / "scripts/services.sh"), action], env=self._env(which), capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"services.sh {action} ({which}) failed: {done.stderr[-1500:]}")

    def start(self) -> None:
        for which in ("new", "old"):
            self._run(which, "start")
            self.started.append(which)

    def restart_old(self) -> None:
        """A fresh SQLite FerretDB on the same data (after a query past its budget: nothing left running)."""
        self._run("old", "stop")
        self._run("old", "start")

    def stop(self) -> None:
        for which in reversed(self.started):
            try:
                self._run(which, "stop", timeout=120)
            except Exception as exc:  # report, keep stopping the rest
                print(f"  scale: stopping the {which} store: {exc!r}", flush=True)
        self.started.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def mongo_url(self, which: str) -> str:
        return f"mongodb://127.0.0.1:{self.ferretdb_ports[which]}/{DB}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def pid(self, which: str, service: str) -> int | None:
        try:
            return int((self.dirs[which] / f"{service}.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def psql(self, sql: str, timeout: float = 900) -> str:
        done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-d", "ferretdb",
                               "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr[-800:]}")
        return done.stdout.strip()

    def disk_mb(self) -> dict[str, float]:
        """Sizes of the two stores' data (the PostgreSQL database; the SQLite directory)."""
        out = {}
        try:
            out["postgres_db_mb"] = round(int(self.psql("SELECT pg_database_size('ferretdb')")) / 2 ** 20, 1)
        except Exception:
            pass
        sqlite = self.dirs["old"] / "ferretdb"
        out["sqlite_mb"] = round(sum(p.stat().st_size for p in sqlite.rglob("*") if p.is_file()) / 2 ** 20, 1)
        return out


class ScaleData:
    """The workload's community, users and messages in both stores (see the module docstring)."""

    def __init__(self, stores: PrivateStores, communities: int = 50, channels: int = 20, big_members: int = 10000,
                 probes: int = 100, seed: int = 15, app_dir: Path = ROOT):
        from pymongo import MongoClient
        from kraken.config import load_settings
        if communities < 20:
            raise ValueError("a probe user is in 20 communities: --scale-communities must be >= 20")
        self.stores, self.app_dir = stores, app_dir
        self.rng = random.Random(seed)
        self.n_communities, self.n_channels, self.big_members, self.probes = communities, channels, big_members, probes
        data_dir = stores.root / "app-data"
        data_dir.mkdir()
        self.settings = load_settings({}, env="test", mongodb_url=stores.mongo_url("new"), redis_url=stores.redis_url,
                                      rate_limits=False, log_level="WARNING", data_dir=data_dir,
                                      argon2_memory_kib=1024, argon2_time_cost=1)
        self.env = {**server_env(self.settings), "KRAKEN_PRESENCE_GRACE": "0"}
        for which in ("new", "old"):
            self._migrate(stores.mongo_url(which))
        from kraken import create_app
        self.app = create_app(self.settings)
        self.new = MongoClient(stores.mongo_url("new"), tz_aware=True)[DB]
        self.old_client = None
        self.user_ids: list[ObjectId] = []
        self.communities: list[dict] = []  # {id, general, member_role, text: [channel ids]}
        self.messages = 0
        self.hot_count = 0
        self.hot_dm: ObjectId | None = None
        self.hot_dm_count = 0
        self.dm_groups = 0
        self.clock = datetime.now(timezone.utc) - timedelta(days=60)
        self._templates()

    # -- stores ------------------------------------------------------------------------------------

    def old(self, timeout_s: float = 60):
        """The old store through a client whose socket gives up after `timeout_s` (a fresh client after a
        restart of the SQLite FerretDB)."""
        from pymongo import MongoClient
        if self.old_client is None or self.old_client[1] != timeout_s:
            if self.old_client is not None:
                self.old_client[0].close()
            client = MongoClient(self.stores.mongo_url("old"), tz_aware=True, socketTimeoutMS=int(timeout_s * 1000),
                                 serverSelectionTimeoutMS=15000)
            self.old_client = (client, timeout_s)
        return self.old_client[0][DB]

    def reset_old_client(self) -> None:
        if self.old_client is not None:
            self.old_client[0].close()
            self.old_client = None

    def _migrate(self, url: str) -> None:
        """The app's own migration (indexes; GIN indexes follow on the new store) against one store."""
        subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "kraken", "migrate"], cwd=self.app_dir,
                       env={**self.env, "MONGODB_URL": url, "PYTHONPATH": str(self.app_dir)}, check=True,
                       capture_output=True, timeout=300)

    def _templates(self) -> None:
        """One document of each kind from the app's models: every bulk document is a copy with its own values."""
        from kraken.channels.models import Channel
        from kraken.memberships.models import Membership
        from kraken.messages.models import Message
        from kraken.roles.models import UserRole
        from kraken.users.models import User
        oid = ObjectId()
        self.t_user = User(id=oid, username="u", hashed_password="h", display_name="u").to_mongo().to_dict()
        self.t_membership = Membership(id=oid, user_id=oid, community_id=oid).to_mongo().to_dict()
        self.t_user_role = UserRole(id=oid, user_id=oid, role_id=oid, community_id=oid).to_mongo().to_dict()
        self.t_channel = Channel(id=oid, name="c", community_id=oid, type="TEXT").to_mongo().to_dict()
        self.t_message = Message(id=oid, channel_id=oid, author_id=oid, spans=[{"type": "PLAINTEXT", "text": "x"}],
                                 attachments=[], reactions=[]).to_mongo().to_dict()
        self.t_dm_message = Message(id=oid, direct_message_group_id=oid, author_id=oid,
                                    spans=[{"type": "PLAINTEXT", "text": "x"}], attachments=[],
                                    reactions=[]).to_mongo().to_dict()
        from kraken.direct_messages.models import DirectMessageGroup, DirectMessageMembership
        self.t_dm_group = DirectMessageGroup(id=oid).to_mongo().to_dict()
        self.t_dm_member = DirectMessageMembership(id="k", group_id=oid, user_id=oid).to_mongo().to_dict()
        from argon2 import PasswordHasher
        self.hashed = PasswordHasher(**OWASP).hash(PASSWORD)

    def _insert(self, name: str, docs: list[dict], batch: int = 2000, old: bool = True) -> tuple[float, float]:
        """insert_many into the new store, then the old; seconds spent in each."""
        t_new = t_old = 0.0
        for start in range(0, len(docs), batch):
            chunk = docs[start:start + batch]
            started = time.perf_counter()
            self.new[name].insert_many(chunk, ordered=False)
            t_new += time.perf_counter() - started
            if old:
                started = time.perf_counter()
                self.old(600)[name].insert_many(chunk, ordered=False)
                t_old += time.perf_counter() - started
        return t_new, t_old

    # -- the instance ------------------------------------------------------------------------------

    def setup(self) -> dict:
        """Owner and communities through the app's services, TEXT channels in bulk; copied to the old store."""
        from kraken import dependents
        from kraken.channels.models import Channel
        from kraken.communities import service as communities
        from kraken.rbac import MEMBER
        from kraken.roles.models import Role
        from kraken.users import service as users
        started = time.perf_counter()
        with self.app.app_context():
            owner = users.create_owner("scale-owner", PASSWORD)
            self.owner_id = owner.id
            extra = []
            for c in range(self.n_communities):
                community = communities.create(owner, name=f"Scale {c:03d}", description=None, avatar=None,
                                               banner=None)
                general = Channel.objects(community_id=community.id, type="TEXT").first()
                role = Role.objects(community_id=community.id, name=MEMBER).first()
                text = [general.id]
                for k in range(1, self.n_channels):
                    doc = dict(self.t_channel, _id=ObjectId(), name=f"channel-{k:02d}", communityId=community.id,
                               createdAt=datetime.now(timezone.utc))
                    extra.append(doc)
                    text.append(doc["_id"])
                self.communities.append({"id": community.id, "general": general.id, "member_role": role.id,
                                         "text": text})
            self._insert("channels", extra, old=False)
            for c in self.communities:  # raw inserts send no signal
                dependents.wrote(Channel, community_id=c["id"])
        # the old store gets the same instance documents
        for name in sorted(set(self.new.list_collection_names()) - {"migrations", "messages", "message_counters",
                                                                     "message_tombstones"}):
            docs = list(self.new[name].find())
            if docs:
                self.old(600)[name].insert_many(docs, ordered=False)
        self.hot = self.communities[0]["general"]
        self.big = self.communities[0]["id"]
        self.other_channels = [ch for c in self.communities for ch in c["text"] if ch != self.hot]
        return {"seconds": round(time.perf_counter() - started, 1), "communities": self.n_communities,
                "text_channels": len(self.other_channels) + 1}

    def _communities_of(self, i: int) -> list[int]:
        found = [0] if i < self.big_members else []
        if i < self.probes:  # 20 communities: the big one and 19 others
            found += [1 + (i + k) % (self.n_communities - 1) for k in range(19)]
        else:
            found += self.rng.sample(range(1, self.n_communities), 1 + i % 2)
        return found

    def grow_users(self, total: int, load_old: bool = True, chunk: int = 2000) -> dict:
        """Users (and their memberships and Member role assignments) up to `total`, in both stores (the
        new one only when `load_old` is False)."""
        start = len(self.user_ids)
        t = {"users": start, "to": total, "new_s": 0.0, "old_s": 0.0, "memberships": 0, "build_s": 0.0,
             "old_loaded": load_old}
        for first in range(start, total, chunk):
            built = time.perf_counter()
            now = datetime.now(timezone.utc)
            users, memberships, user_roles = [], [], []
            for i in range(first, min(total, first + chunk)):
                uid = ObjectId()
                users.append(dict(self.t_user, _id=uid, username=f"scale{i}", hashedPassword=self.hashed,
                                  displayName=f"Scale user {i}", createdAt=now))
                for c in self._communities_of(i):
                    community = self.communities[c]
                    memberships.append(dict(self.t_membership, _id=ObjectId(), userId=uid, communityId=community["id"],
                                            joinedAt=now))
                    user_roles.append(dict(self.t_user_role, _id=ObjectId(), userId=uid,
                                           roleId=community["member_role"], communityId=community["id"],
                                           createdAt=now))
                self.user_ids.append(uid)
            t["build_s"] += time.perf_counter() - built
            for name, docs in (("users", users), ("memberships", memberships), ("user_roles", user_roles)):
                new_s, old_s = self._insert(name, docs, old=load_old)
                t["new_s"] += new_s
                t["old_s"] += old_s
            t["memberships"] += len(memberships)
        from kraken import dependents
        from kraken.memberships.models import Membership
        with self.app.app_context():
            for c in self.communities:  # raw inserts send no signal
                dependents.wrote(Membership, community_id=c["id"])
        docs = len(self.user_ids) - start + 2 * t["memberships"]
        t.update(new_s=round(t["new_s"], 1), old_s=round(t["old_s"], 1), build_s=round(t["build_s"], 1),
                 documents=docs, new_docs_per_s=round(docs / max(t["new_s"], 1e-6)),
                 old_docs_per_s=round(docs / max(t["old_s"], 1e-6)))
        return t

    def make_dms(self) -> dict:
        """Direct-message conversations in the new store (the old design had none): the hot one between
        users 0 and 1, and DMS_PER_PROBE of each probe user with a user past the probes, one message each
        (numbered by the app). Needs the first users."""
        from kraken.direct_messages.models import membership_key
        from kraken.messages import timeline
        started = time.perf_counter()
        now = datetime.now(timezone.utc)
        partners = self.user_ids[self.probes:]
        groups, members, messages = [], [], []
        pairs = [(0, self.user_ids[1])] + [(i, partners[(i * DMS_PER_PROBE + k) % len(partners)])
                                           for i in range(self.probes) for k in range(DMS_PER_PROBE)]
        for i, other in pairs:
            gid = ObjectId()
            groups.append(dict(self.t_dm_group, _id=gid, isGroup=False, createdAt=now))
            for uid in (self.user_ids[i], other):
                members.append(dict(self.t_dm_member, _id=membership_key(gid, uid), groupId=gid, userId=uid,
                                    joinedAt=now))
            messages.append(dict(self.t_dm_message, _id=ObjectId(), directMessageGroupId=gid, authorId=other,
                                 spans=[{"type": "PLAINTEXT", "text": "hello there"}], sentAt=now))
        self.hot_dm = groups[0]["_id"]
        with self.app.app_context():
            timeline.number(messages)
        for name, docs in (("direct_message_groups", groups), ("dm_memberships", members), ("messages", messages)):
            self._insert(name, docs, old=False)
        self.dm_groups, self.messages = len(groups), self.messages + len(messages)
        self.hot_dm_count += 1
        self._search_progress()
        return {"groups": len(groups), "memberships": len(members), "seconds": round(time.perf_counter() - started, 1)}

    def grow_messages(self, total: int, load_old: bool = True, chunk: int = 50000, batch: int = 2000) -> dict:
        """Messages up to `total`: 1 in HOT_SHARE in the hot channel (and 1 in DM_SHARE in the hot DM once
        there is one), in chunks numbered by the app's `timeline.number`, inserted into the new store (and
        the old one unless `load_old` is False)."""
        from kraken.messages import timeline
        add = total - self.messages
        hot_add = total // HOT_SHARE - self.hot_count
        dm_add = total // DM_SHARE - self.hot_dm_count if self.hot_dm is not None else 0
        t = {"messages": self.messages, "to": total, "build_s": 0.0, "number_s": 0.0, "new_s": 0.0, "old_s": 0.0,
             "old_loaded": load_old}
        members = self.user_ids[:min(len(self.user_ids), self.big_members)]
        done = hot_done = dm_done = 0
        started = time.perf_counter()
        while done < add:
            n = min(chunk, add - done)
            hot_n = round((done + n) / add * hot_add) - hot_done
            dm_n = round((done + n) / add * dm_add) - dm_done
            channels = ([self.hot] * hot_n + [self.hot_dm] * dm_n +
                        [self.rng.choice(self.other_channels) for _ in range(n - hot_n - dm_n)])
            self.rng.shuffle(channels)
            built = time.perf_counter()
            docs = []
            for channel in channels:
                self.clock += timedelta(seconds=2)
                text = " ".join(self.rng.choices(_WORDS, k=self.rng.randint(3, 30)))
                if channel == self.hot_dm:
                    docs.append(dict(self.t_dm_message, _id=ObjectId(), directMessageGroupId=channel,
                                     authorId=self.user_ids[self.rng.randrange(2)],
                                     spans=[{"type": "PLAINTEXT", "text": text}], sentAt=self.clock))
                    continue
                author = self.rng.choice(members if channel == self.hot else self.user_ids)
                docs.append(dict(self.t_message, _id=ObjectId(), channelId=channel, authorId=author,
                                 spans=[{"type": "PLAINTEXT", "text": text}], attachments=[], reactions=[],
                                 sentAt=self.clock))
            t["build_s"] += time.perf_counter() - built
            numbered = time.perf_counter()
            with self.app.app_context():
                timeline.number(docs)  # the app's own numbering: seq and bucket, counters in the new store
            t["number_s"] += time.perf_counter() - numbered
            for start in range(0, len(docs), batch):
                part = docs[start:start + batch]
                began = time.perf_counter()
                self.new["messages"].insert_many(part, ordered=False)
                t["new_s"] += time.perf_counter() - began
                if load_old:
                    stripped = [{k: v for k, v in d.items() if k not in ("seq", "bucket")} for d in part]
                    began = time.perf_counter()
                    self.old(600)["messages"].insert_many(stripped, ordered=False)
                    t["old_s"] += time.perf_counter() - began
            done += n
            hot_done += hot_n
            dm_done += dm_n
        self.messages, self.hot_count, self.hot_dm_count = total, self.hot_count + hot_done, self.hot_dm_count + dm_done
        self._search_progress()
        t["wall_s"] = time.perf_counter() - started
        for key in ("build_s", "number_s", "new_s", "old_s", "wall_s"):
            t[key] = round(t[key], 1)
        t["new_store_s"] = round(t["number_s"] + t["new_s"], 1)  # numbering + inserts into the new store
        t["new_msgs_per_s"] = round(add / max(t["new_store_s"], 1e-6))
        t["old_msgs_per_s"] = round(add / max(t["old_s"], 1e-6)) if load_old else None
        return t

    def _search_progress(self) -> None:
        """Every conversation counts as indexed up to its counter (see the module docstring)."""
        progress = self.new["search_progress"]
        progress.delete_many({})
        docs = [{"_id": c["_id"], "seq": c.get("seq", 0), "gaps": []} for c in self.new["message_counters"].find({}, {"seq": 1})]
        for start in range(0, len(docs), 1000):
            progress.insert_many(docs[start:start + 1000], ordered=False)

    # -- look-ups for the measurements ---------------------------------------------------------------

    def last_seq(self, channel: ObjectId) -> int:
        found = self.new["message_counters"].find_one({"_id": channel}, {"seq": 1})
        return found["seq"] if found else 0

    def message_at(self, channel: ObjectId, seq: int) -> dict:
        from kraken.messages.timeline import bucket_key
        found = self.new["messages"].find_one({"bucket": bucket_key(channel, seq), "seq": seq})
        if found is None:
            raise RuntimeError(f"no message {seq} in {channel}")
        return found

    def token(self, index: int) -> str:
        """A fresh access token for user `index` (minted now: tokens live an hour)."""
        from kraken.auth.service import access_token_for
        from kraken.users.models import User
        user = User(id=self.user_ids[index], username=f"scale{index}", hashed_password=self.hashed)
        with self.app.app_context():
            return access_token_for(user, ObjectId())

    def settle_store(self, wait_s: float = 120) -> dict:
        """VACUUM ANALYZE the new store (what autovacuum does to a live instance; keeps it from running
        mid-measurement) and wait until every collection table has its GIN indexes (the keeper adds
        them for tables a first insert created within a minute)."""
        started = time.perf_counter()
        self.stores.psql("VACUUM (ANALYZE)")
        vacuum_s = time.perf_counter() - started
        deadline = time.monotonic() + wait_s
        sql = (f"SELECT m._jsonb->>'_id', (SELECT count(*) FROM pg_indexes i WHERE i.schemaname = '{DB}' AND "
               f"i.tablename = m._jsonb->>'table' AND i.indexname LIKE '%\\_kg\\_%') "
               f"FROM {DB}._ferretdb_database_metadata m")
        while True:
            rows = [line.split("|") for line in self.stores.psql(sql).splitlines() if line]
            missing = [name for name, count in rows if int(count) == 0]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(2)
        return {"vacuum_analyze_s": round(vacuum_s, 1), "tables_without_gin": missing,
                "gin_indexes": {name: int(count) for name, count in rows}}
