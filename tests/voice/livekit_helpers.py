"""Real LiveKit from tests: server-API calls, real participants (livekit.rtc), webhooks signed
as LiveKit signs them, and a private livekit-server whose webhook points at a live Kraken."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import requests
import yaml
from livekit import api, rtc

from kraken.livekit.tokens import grants
from tests.live import free_port, wait_for

DEV_URL = "http://127.0.0.1:7880"   # `make services`' livekit-server --dev
DEV_WS = "ws://127.0.0.1:7880"
DEV_KEY, DEV_SECRET = "devkey", "secret"
LIVEKIT_BIN = Path(os.environ.get("KRAKEN_CACHE", Path.home() / ".cache/kraken")) / "livekit-v1.13.5/server"


def server_api(fn, url: str = DEV_URL, key: str = DEV_KEY, secret: str = DEV_SECRET):
    """Run `await fn(LiveKitAPI)` against a LiveKit server (this test process is not gevent-patched)."""
    async def run():
        async with api.LiveKitAPI(url, key, secret, failover=False) as lk:
            return await asyncio.wait_for(fn(lk), 10)
    return asyncio.run(run())


def participants(room: object, url: str = DEV_URL) -> list[str]:
    response = server_api(lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room=str(room))), url)
    return [p.identity for p in response.participants]


def room_names(url: str = DEV_URL) -> list[str]:
    return [r.name for r in server_api(lambda lk: lk.room.list_rooms(api.ListRoomsRequest()), url).rooms]


def create_room(name: object, url: str = DEV_URL, empty_timeout: int = 300) -> None:
    server_api(lambda lk: lk.room.create_room(api.CreateRoomRequest(name=str(name), empty_timeout=empty_timeout)),
               url)


def mint(identity: str, room: str, key: str = DEV_KEY, secret: str = DEV_SECRET, ttl: int = 600) -> str:
    """A participant token made the way the app makes them (for servers the app does not serve)."""
    return (api.AccessToken(key, secret).with_identity(identity).with_grants(grants(room))
            .with_ttl(timedelta(seconds=ttl)).to_jwt())


def rtc_validate(token: str, url: str = DEV_URL) -> int:
    """LiveKit's own verdict on a join token (GET /rtc/validate): 200 accepted, 401 refused."""
    return requests.get(f"{url}/rtc/validate", params={"access_token": token}, timeout=5).status_code


class Participant:
    """A real LiveKit participant: livekit.rtc on an event loop in its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.room: rtc.Room | None = None
        self.disconnected = threading.Event()
        self.source = None

    def _run(self, coro, timeout: float = 15):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def connect(self, url: str, token: str) -> "Participant":
        async def go():
            self.room = rtc.Room(loop=self.loop)
            self.room.on("disconnected", lambda *_: self.disconnected.set())
            await self.room.connect(url, token)
        self._run(go())
        return self

    def publish_audio(self) -> str:
        async def go():
            self.source = rtc.AudioSource(48000, 1)
            track = rtc.LocalAudioTrack.create_audio_track("microphone", self.source)
            options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            return (await self.room.local_participant.publish_track(track, options)).sid
        return self._run(go())

    def close(self) -> None:
        async def go():
            if self.room is not None and self.room.isconnected():
                await self.room.disconnect()
        try:
            self._run(go(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def sign_webhook(body: bytes, key: str = DEV_KEY, secret: str = DEV_SECRET) -> str:
    """The Authorization header LiveKit sends: a JWT whose `sha256` claim is the body's digest."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return api.AccessToken(key, secret).with_sha256(digest).with_ttl(timedelta(minutes=5)).to_jwt()


class PrivateLiveKit:
    """A livekit-server of the test's own on free loopback ports, sending webhooks to `webhook_url`."""

    def __init__(self, workdir: Path, webhook_url: str):
        self.port = free_port()
        self.dir = workdir
        config = {"port": self.port, "log_level": "info",
                  "rtc": {"tcp_port": free_port(), "udp_port": free_port(), "use_external_ip": False,
                          "node_ip": "127.0.0.1"},
                  # LiveKit's dev key pair; it logs that the secret is short and runs anyway
                  "keys": {DEV_KEY: DEV_SECRET},
                  "webhook": {"api_key": DEV_KEY, "urls": [webhook_url]}}
        self.config = workdir / "livekit.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "livekit.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> "PrivateLiveKit":
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
        with self.log_path.open("w") as out:
            self.proc = subprocess.Popen([str(LIVEKIT_BIN), "--config", str(self.config), "--bind", "127.0.0.1"],
                                         env=env, stdout=out, stderr=subprocess.STDOUT)

        def answers() -> bool:
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            try:
                return requests.get(self.url, timeout=1).status_code == 200
            except requests.RequestException:
                return False
        assert wait_for(answers, timeout=30), self.log_path.read_text()[-3000:]
        return self

    def stop(self) -> None:
        # livekit-server drains on the first SIGTERM and stops on the second (tests/ops does the same)
        for signal_once, wait in ((self.proc.terminate, 3), (self.proc.terminate, 10), (self.proc.kill, 5)):
            if self.proc.poll() is not None:
                return
            signal_once()
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                pass
