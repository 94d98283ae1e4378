"""docker/livekit.yaml run by the real livekit-server (the version compose.yaml pins and
scripts/services.sh builds), on loopback ports. LiveKit parses its config strictly, so a
server that starts and answers the API with the LIVEKIT_KEYS key proves the file, the
key wiring and the webhook's key name together."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from livekit import api

from tests.live import ROOT, free_port, wait_for
from tests.ops.helpers import DOCKER

VERSION = re.search(r'LIVEKIT_VERSION="(v[\d.]+)"', (ROOT / "scripts/services.sh").read_text()).group(1)
SECRET = "0123456789abcdef" * 4  # the shape `openssl rand -hex 32` gives


def key_name() -> str:
    return re.search(r"^LIVEKIT_API_KEY=(\S+)$", (DOCKER / ".env.example").read_text(), re.M).group(1)


@pytest.fixture(scope="module")
def livekit_bin() -> Path:
    binary = Path(os.environ.get("KRAKEN_CACHE", Path.home() / ".cache/kraken")) / f"livekit-{VERSION}/server"
    if not binary.exists():  # built once by scripts/services.sh (make services does it too)
        subprocess.run([str(ROOT / "scripts/services.sh"), "build"], check=True, timeout=900)
    assert binary.exists()
    return binary


def local_copy(tmp_path: Path, **changes) -> tuple[Path, int]:
    """The shipped file on free loopback ports, without the public-IP lookup (no network here)."""
    config = yaml.safe_load((DOCKER / "livekit.yaml").read_text())
    port = free_port()
    config["port"] = port
    config["rtc"].update(tcp_port=free_port(), use_external_ip=False)
    config.update(changes)
    path = tmp_path / "livekit.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, port


def start(livekit_bin: Path, config: Path, keys: str, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")} | {"LIVEKIT_KEYS": keys}
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(livekit_bin), "--config", str(config), "--bind", "127.0.0.1"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    # The first SIGTERM starts a graceful drain, which here never finishes on its own;
    # a second one forces the stop (livekit-server's own rule), SIGKILL is the last resort.
    for signal_once, wait in ((proc.terminate, 3), (proc.terminate, 10), (proc.kill, 5)):
        if proc.poll() is not None:
            return
        signal_once()
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass


def test_shipped_config_starts_with_keys_from_the_environment(livekit_bin, tmp_path):
    config, port = local_copy(tmp_path)
    log = tmp_path / "livekit.log"
    proc = start(livekit_bin, config, f"{key_name()}: {SECRET}", log)
    try:
        def answers():
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                return requests.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        assert wait_for(answers, timeout=30), log.read_text()[-3000:]

        # the app's credentials work against this server (RoomService over Twirp)
        token = api.AccessToken(key_name(), SECRET).with_grants(api.VideoGrants(room_list=True)).to_jwt()
        rooms = requests.post(f"http://127.0.0.1:{port}/twirp/livekit.RoomService/ListRooms", json={},
                              headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert rooms.status_code == 200, rooms.text
        wrong = api.AccessToken(key_name(), "f" * 64).with_grants(api.VideoGrants(room_list=True)).to_jwt()
        refused = requests.post(f"http://127.0.0.1:{port}/twirp/livekit.RoomService/ListRooms", json={},
                                headers={"Authorization": f"Bearer {wrong}"}, timeout=5)
        assert refused.status_code == 401
    finally:
        stop(proc)


@pytest.mark.parametrize("case", ["unknown key in the file", "webhook key not in LIVEKIT_KEYS"])
def test_livekit_refuses_a_broken_setup(livekit_bin, tmp_path, case):
    # shows the passing test above is meaningful: LiveKit does check both
    if case == "unknown key in the file":
        config, _ = local_copy(tmp_path, webhooks={"urls": []})
        keys = f"{key_name()}: {SECRET}"
    else:
        config, _ = local_copy(tmp_path)
        keys = f"someone-else: {SECRET}"
    log = tmp_path / "livekit.log"
    proc = start(livekit_bin, config, keys, log)
    try:
        proc.wait(30)  # it stops by itself (livekit-server v1.13.5 exits 0 even then: read its message)
    finally:
        stop(proc)
    output = log.read_text().lower()
    expected = "could not parse config" if case == "unknown key in the file" else "webhook"
    assert expected in output, output[-3000:]
