"""Workload `thumbnail` (issue 22, docs/decisions/0066-file-extras.md): GET /api/file/:id/thumbnail of a
12-megapixel JPEG (4000 × 3000, a photo-like noisy picture of about 4 MB), in process through Flask's
test client (no HTTP, no gevent), on the default store in a database of its own, Redis DB 10.

Rows:
- first request (the thumbnail is made: the JPEG decoded at reduced scale, resized to 480 px, stored and
  recorded): each of --images uploads once, reported (median and max), no target;
- cached request (the stored thumbnail streamed after the access check): p99 of --samples requests,
  target <= 20 ms.

    KRAKEN_ENV=test .venv/bin/python bench/w_files.py [--images 5] [--samples 200] [--mongodb-url URL]
    make bench ARGS="--only thumbnail"
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.redis_dbs import claim  # noqa: E402

REDIS_URL = f"redis://127.0.0.1:6379/{claim('bench files')}"
SIZE = (4000, 3000)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def photo(seed: int) -> bytes:
    """A 12-megapixel JPEG that compresses like a photo (noise over gradients), not like a flat colour."""
    from PIL import Image  # noqa: PLC0415 - the app's dependency, imported with the bench
    noise = [Image.effect_noise(SIZE, 40 + seed).point(lambda v, k=k: (v + 60 * k) % 256) for k in range(3)]
    out = io.BytesIO()
    Image.merge("RGB", noise).save(out, "JPEG", quality=90)
    return out.getvalue()


def measure(images: int, samples: int, mongodb_url: str) -> dict:
    from kraken.app import create_app  # noqa: PLC0415
    from kraken.auth.service import start_session  # noqa: PLC0415
    from kraken.communities import service as communities  # noqa: PLC0415
    from kraken.config import load_settings  # noqa: PLC0415
    from kraken.extensions import redis  # noqa: PLC0415
    from kraken.files import service as files  # noqa: PLC0415
    from kraken.files.schemas import Upload  # noqa: PLC0415
    from kraken.users import service as users  # noqa: PLC0415
    from mongoengine import get_db  # noqa: PLC0415

    name = f"kraken_bench_files_{os.getpid()}"
    base = mongodb_url.rsplit("/", 1)[0] if mongodb_url.count("/") > 2 else mongodb_url
    settings = load_settings().model_copy(update={"mongodb_url": f"{base}/{name}", "redis_url": REDIS_URL,
                                                  "rate_limits": False, "log_level": "WARNING"})
    app = create_app(settings)
    with app.app_context():
        try:
            redis.flushdb()
            owner = users.create_owner("bench", "bench-password-123")
            general = next(c for c in _channels(communities.create(owner, name="Photos", description=None,
                                                                     avatar=None, banner=None)))
            headers = {"Authorization": f"Bearer {start_session(owner).access_token}"}
            client, first, sizes = app.test_client(), [], []
            ids = []
            for i in range(images):
                content = photo(i)
                sizes.append(len(content))
                record = files.upload(owner, Upload(resource_type="MESSAGE_ATTACHMENT", resource_id=str(general),
                                                    filename=f"p{i}.jpg", declared_type="image/jpeg",
                                                    stream=io.BytesIO(content)))
                ids.append(str(record.id))
                start = time.perf_counter()
                response = client.get(f"/api/file/{record.id}/thumbnail", headers=headers)
                first.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200 and response.mimetype == "image/jpeg", response.status_code
            cached = []
            path = f"/api/file/{ids[0]}/thumbnail"
            for _ in range(10):
                client.get(path, headers=headers)
            for _ in range(samples):
                start = time.perf_counter()
                response = client.get(path, headers=headers)
                body = response.data
                cached.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200 and body
            return {"first": first, "cached": cached, "image_bytes": sizes, "thumbnail_bytes": len(body)}
        finally:
            get_db().client.drop_database(name)
            redis.flushdb()


def _channels(community):
    from kraken.channels.models import Channel  # noqa: PLC0415
    return [c.id for c in Channel.objects(community_id=community.id, type="TEXT")]


def summary(r: dict) -> list[str]:
    return [f"12 MP JPEG ({statistics.median(r['image_bytes']) / 2 ** 20:.1f} MiB) -> thumbnail "
            f"{r['thumbnail_bytes']} bytes",
            f"first request (made): median {statistics.median(r['first']):.0f} ms, max {max(r['first']):.0f} ms "
            f"over {len(r['first'])} images",
            f"cached request: p50 {statistics.median(r['cached']):.2f} ms, p99 {percentile(r['cached'], .99):.2f} ms "
            f"over {len(r['cached'])}  {'PASS' if percentile(r['cached'], .99) <= 20 else 'FAIL'} (<= 20 ms)"]


def rows(r: dict) -> list:
    from report import Row  # noqa: PLC0415 - bench/ is on sys.path under run.py
    return [Row("thumbnail", "12 MP JPEG thumbnail, first request (made), median", statistics.median(r["first"]),
                "ms", note=f"max {max(r['first']):.0f} ms over {len(r['first'])} images"),
            Row("thumbnail", "12 MP JPEG thumbnail, cached, p99", percentile(r["cached"], .99), "ms",
                target=("<=", 20.0))]


def run(cfg, details: dict) -> list:
    """bench/run.py entry."""
    result = measure(5, 200, "mongodb://127.0.0.1:27017/kraken")
    details["thumbnail"] = result
    for line in summary(result):
        print(line, flush=True)
    return rows(result)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--mongodb-url", default="mongodb://127.0.0.1:27017/kraken")
    args = parser.parse_args(argv)
    result = measure(args.images, args.samples, args.mongodb_url)
    lines = summary(result)
    for line in lines:
        print(line)
    return 0 if "PASS" in lines[-1] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
