"""Baseline servers for `make bench`, served by gunicorn + the gevent-websocket worker like Kraken.

- `b0`: a bare python-socketio server under gevent (B0): `join` (a room) and `send`
  ({room, message}) re-broadcast as `newMessage` {message} to the room. No auth, no database.
  With BENCH_B0_REDIS set it uses python-socketio's stock RedisManager on that URL ("B0r",
  informational: the transport plus the same Redis hop Kraken's queue adds).
- `b1`: a trivial Flask JSON endpoint, GET /json (B1, the ceiling for REST).
- `b1r` / `b1a` (informational): B1 plus one Redis round trip per request (`b1r`), and B1 behind
  what every authenticated request requires and nothing else (`b1a`,
  docs/decisions/0008-sessions-and-refresh-token-families.md):
  flask-jwt-extended verifying the bearer token, and one Redis round trip asking whether its jti
  is revoked (BENCH_B1A_REDIS, BENCH_B1A_SECRET); `b1s`: B1 behind the fixed stack's per-request
  extensions with nothing to look up. Floors under Kraken's REST figures.

Run by bench/harness.py: `gunicorn -c gunicorn_baseline.py baseline_wsgi:b0` (cwd bench/).
"""
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

import socketio  # noqa: E402
from flask import Flask  # noqa: E402

_redis_url = os.environ.get("BENCH_B0_REDIS")
_manager = (socketio.RedisManager(_redis_url, channel=f"kraken-bench-b0r-{os.getpid()}") if _redis_url else None)
sio = socketio.Server(async_mode="gevent", client_manager=_manager, cors_allowed_origins="*",
                      max_http_buffer_size=1_000_000, ping_interval=25, ping_timeout=20)


@sio.on("join")
def _join(sid, room):
    sio.enter_room(sid, str(room))
    return "ok"


@sio.on("send")
def _send(sid, data):
    sio.emit("newMessage", {"message": data["message"]}, to=str(data["room"]))
    return data["message"]["id"]


def _health(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status":"ok"}']


b0 = socketio.WSGIApp(sio, _health)

b1 = Flask(__name__)


@b1.get("/json")
def _json():
    return {"status": "ok", "message": "Hello World!"}


@b1.get("/health")
def _b1_health():
    return {"status": "ok"}


b1a = Flask("b1a")
b1r = Flask("b1r")
if os.environ.get("BENCH_B1A_REDIS"):
    import redis  # noqa: E402
    from flask_jwt_extended import JWTManager, jwt_required  # noqa: E402

    _revocations = redis.Redis.from_url(os.environ["BENCH_B1A_REDIS"])

    @b1r.get("/json")
    def _json_one_round_trip():
        _revocations.exists("bench:revoked:none")
        return {"status": "ok", "message": "Hello World!"}

    @b1r.get("/health")
    def _b1r_health():
        return {"status": "ok"}

    b1a.config["JWT_SECRET_KEY"] = os.environ.get("BENCH_B1A_SECRET", "")
    _jwt = JWTManager(b1a)

    @_jwt.token_in_blocklist_loader
    def _revoked(_header, payload):
        return bool(_revocations.exists(f"bench:revoked:{payload['jti']}"))

    @b1a.get("/json")
    @jwt_required()
    def _json_authenticated():
        return {"status": "ok", "message": "Hello World!"}

    @b1a.get("/health")
    def _b1a_health():
        return {"status": "ok"}


# B1s: B1 behind the per-request extensions the fixed stack brings (flask-jwt-extended verifying the
# bearer token, flask-limiter with limits switched off as in the bench's Kraken, flask-cors, a
# request-id + timing hook pair) and nothing to look up: the floor of any Kraken request.
b1s = Flask("b1s")
if os.environ.get("BENCH_B1A_SECRET"):
    import secrets  # noqa: E402
    import time  # noqa: E402

    from flask import g  # noqa: E402
    from flask_cors import CORS  # noqa: E402
    from flask_jwt_extended import JWTManager, jwt_required  # noqa: E402
    from flask_limiter import Limiter  # noqa: E402
    from flask_limiter.util import get_remote_address  # noqa: E402

    b1s.config["JWT_SECRET_KEY"] = os.environ["BENCH_B1A_SECRET"]
    JWTManager(b1s)
    CORS(b1s, origins=["http://localhost:5173"], supports_credentials=True)
    _limiter = Limiter(get_remote_address, app=b1s, storage_uri="memory://",
                       default_limits=["3 per 1 second", "20 per 10 seconds", "100 per 1 minute"])
    _limiter.request_filter(lambda: True)

    @b1s.before_request
    def _b1s_start():
        g.started, g.request_id = time.perf_counter(), secrets.token_hex(16)

    @b1s.after_request
    def _b1s_finish(response):
        response.headers["X-Request-ID"] = g.request_id
        return response

    @b1s.get("/json")
    @jwt_required()
    def _json_stack():
        return {"status": "ok", "message": "Hello World!"}

    @b1s.get("/health")
    def _b1s_health():
        return {"status": "ok"}
