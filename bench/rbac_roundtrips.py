"""Count database and Redis round trips of an authorised `GET /api/channels/community/:id`.

Run: `.venv/bin/python bench/rbac_roundtrips.py` (needs `make services`). Uses its own database.
Prints the MongoDB commands issued with a cold and a warm permission cache.
"""
from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

import mongoengine
from pymongo import monitoring

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kraken import create_app  # noqa: E402
from kraken.config import load_settings  # noqa: E402
from kraken.extensions import redis  # noqa: E402
from tests.redis_dbs import claim  # noqa: E402

DB = "kraken_bench_roundtrips"


class Counting(monitoring.CommandListener):
    def __init__(self):
        self.commands: Counter = Counter()

    def started(self, event):
        self.commands[f"{event.command_name} {event.command.get(event.command_name, '')}"] += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def main() -> None:
    settings = load_settings({}, env="test", mongodb_url=f"mongodb://127.0.0.1:27017/{DB}",
                             redis_url=f"redis://127.0.0.1:6379/{claim('bench rbac')}", rate_limits=False, log_level="WARNING",
                             data_dir=Path(tempfile.mkdtemp()), argon2_memory_kib=1024, argon2_time_cost=1)
    app = create_app(settings)
    counter = Counting()
    mongoengine.disconnect()
    mongoengine.connect(host=settings.mongodb_url, tz_aware=True, event_listeners=[counter])
    with app.app_context():
        mongoengine.get_connection().drop_database(DB)
        redis.flushdb()
        from kraken.communities import service as communities
        from kraken.users import service as users
        users.create_owner("root", "root password")
        code = __import__("kraken.invites.service", fromlist=["x"]).create_invite(created_by=None).code
        admin = users.register(username="admin", password="longenough", email=None, code=code, mode="invite")
        community = communities.create(admin, name="Bench", description=None, avatar=None, banner=None)
        client = app.test_client()
        token = client.post("/api/auth/login", json={"username": "admin", "password": "longenough"}).json["accessToken"]
        url = f"/api/channels/community/{community.id}"
        redis.flushdb()
        for label in ("cold", "warm"):
            counter.commands.clear()
            response = client.get(url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
            total = sum(counter.commands.values())
            print(f"{label}: {total} MongoDB round trips: " + ", ".join(f"{k} x{v}" for k, v in
                                                                          sorted(counter.commands.items())))
        mongoengine.get_connection().drop_database(DB)


if __name__ == "__main__":
    main()
