"""Helpers for tests that run real processes: private services via scripts/services.sh, gunicorn."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateServices:
    """A FerretDB and/or Redis of the test's own, on free ports, so stopping them hurts no one else."""

    def __init__(self, workdir: Path, services: str = "ferretdb redis", handler: str = "postgresql"):
        self.dir = workdir
        self.handler = handler  # FerretDB's backend: postgresql (the default store) or sqlite (the old one)
        # FerretDB stores in a PostgreSQL of its own (stopping FerretDB alone leaves it running)
        self.services = f"postgres {services}" if "ferretdb" in services.split() else services
        self.ferretdb_port = free_port()
        self.redis_port = free_port()
        self.postgres_port = free_port()

    def _run(self, action: str, services: str | None = None) -> None:
        env = {**os.environ, "KRAKEN_SERVICES": services or self.services,
               "KRAKEN_SERVICES_DIR": str(self.dir), "KRAKEN_FERRETDB_PORT": str(self.ferretdb_port),
               "KRAKEN_REDIS_PORT": str(self.redis_port), "KRAKEN_POSTGRES_PORT": str(self.postgres_port),
               "KRAKEN_POSTGRES_EPHEMERAL": "1", "KRAKEN_FERRETDB_HANDLER": self.handler}
        subprocess.run([str(ROOT / "scripts/services.sh"), action], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def start(self, services: str | None = None) -> None:
        self._run("start", services)

    def stop(self, services: str | None = None) -> None:
        self._run("stop", services)

    @property
    def mongodb_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.ferretdb_port}/kraken"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"


class LiveServer:
    """`gunicorn -c gunicorn.conf.py wsgi:app` as `make run` starts it, with the given environment."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.env = {**os.environ, "PORT": str(self.port), "KRAKEN_BIND_HOST": "127.0.0.1", **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> "LiveServer":
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                                     cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/api/health/live", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def flask_cli(self, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "kraken", *args], cwd=ROOT,
                              env={**self.env, **(extra_env or {})}, capture_output=True, text=True, timeout=60)


def wait_for(predicate, timeout: float = 10, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class SentinelTopology:
    """Debian's redis-server and redis-sentinel on loopback: one master, one replica, three sentinels
    watching them as `kraken` (quorum 2, the master is down after 1 s without an answer)."""

    MASTER = "kraken"

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.redis_ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port(), free_port(), free_port()]
        self.procs: dict[int, subprocess.Popen] = {}

    def _redis(self, port: int, *extra: str) -> None:
        data = self.dir / f"redis-{port}"
        data.mkdir(exist_ok=True)
        self.procs[port] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--save", "",
             "--appendonly", "no", "--logfile", str(data / "redis.log"), *extra])

    def _sentinel(self, port: int) -> None:
        conf = self.dir / f"sentinel-{port}.conf"
        conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {self.dir}\nlogfile {self.dir}/sentinel-{port}.log\n"
                        f"sentinel monitor {self.MASTER} 127.0.0.1 {self.redis_ports[0]} 2\n"
                        f"sentinel down-after-milliseconds {self.MASTER} 1000\n"
                        f"sentinel failover-timeout {self.MASTER} 10000\n"
                        f"sentinel parallel-syncs {self.MASTER} 1\n")
        binary = "redis-sentinel" if shutil.which("redis-sentinel") else "redis-server"
        self.procs[port] = subprocess.Popen([binary, str(conf), *([] if binary == "redis-sentinel" else ["--sentinel"])])

    def start(self) -> "SentinelTopology":
        master, replica = self.redis_ports
        self._redis(master)
        self._redis(replica, "--replicaof", "127.0.0.1", str(master))
        for port in self.sentinel_ports:
            self._sentinel(port)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._replicas_known() and self._replica_synced():
                return self
            time.sleep(0.2)
        raise RuntimeError("the sentinel topology did not settle")

    def _cli(self, port: int, *args: str) -> str:
        out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=5)
        return out.stdout.strip()

    def _replicas_known(self) -> bool:
        return all("ip" in self._cli(p, "SENTINEL", "REPLICAS", self.MASTER)
                   and self._cli(p, "SENTINEL", "CKQUORUM", self.MASTER).startswith("OK 3") for p in self.sentinel_ports)

    def _replica_synced(self) -> bool:
        return "master_link_status:up" in self._cli(self.redis_ports[1], "INFO", "replication")

    def master_port(self) -> int:
        out = self._cli(self.sentinel_ports[0], "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.MASTER).split()
        return int(out[1])

    def kill_master(self) -> int:
        """SIGKILL the current master (no shutdown, no save); returns its port."""
        port = self.master_port()
        self.procs[port].kill()
        self.procs[port].wait()
        return port

    def revive(self, port: int) -> None:
        """Start a killed server again on its port; the sentinels make it a replica of the current master."""
        self._redis(port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "master_link_status:up" in self._cli(port, "INFO", "replication"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"redis on {port} did not become a replica again")

    def wait_promoted(self, old: int, timeout: float = 30) -> int:
        """The port of the master the sentinels promoted in place of `old`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.master_port()
            if port != old:
                return port
            time.sleep(0.1)
        raise RuntimeError("the sentinels promoted no replica")

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


class SeaweedS3:
    """SeaweedFS's S3 gateway (`weed server -s3`, built by scripts/tools.sh) on free loopback ports, with one
    identity, so requests are signed and checked like on any S3."""

    ACCESS_KEY, SECRET_KEY = "kraken", "kraken-test-secret"

    def __init__(self, workdir: Path):
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "SeaweedS3":
        out = subprocess.run([str(ROOT / "scripts" / "tools.sh"), "path"], capture_output=True, text=True, check=True)
        weed = dict(line.split("=", 1) for line in out.stdout.split())["weed"]
        config = self.dir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "kraken", "credentials": [{"accessKey": self.ACCESS_KEY, "secretKey": self.SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        data = self.dir / "data"
        data.mkdir(exist_ok=True)
        ports = {name: free_port() for name in ("master", "volume", "filer", "debug")}
        grpc = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        self.proc = subprocess.Popen(
            [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}", "-volume.max=0",
             "-master.volumeSizeLimitMB=64", f"-master.port={ports['master']}",
             f"-master.port.grpc={grpc['master']}", f"-volume.port={ports['volume']}",
             f"-volume.port.grpc={grpc['volume']}", f"-filer.port={ports['filer']}",
             f"-filer.port.grpc={grpc['filer']}", f"-debug.port={ports['debug']}", "-s3",
             f"-s3.port={self.port}", f"-s3.port.grpc={grpc['s3']}", "-s3.port.iceberg=0", "-s3.port.lance=0",
             f"-s3.config={config}"],
            stdout=open(self.dir / "weed.log", "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.dir / 'weed.log').read_text()[-2000:]}")
            try:
                # ready once an object write is quick: the filer finds its lock server a few seconds after
                # the gateway answers, and writes wait a second per try until then
                client = self.client()
                client.create_bucket(Bucket="probe")
                began = time.monotonic()
                client.put_object(Bucket="probe", Key="probe", Body=b"x")
                client.delete_object(Bucket="probe", Key="probe")
                client.delete_bucket(Bucket="probe")
                if time.monotonic() - began < 0.5:
                    return self
            except Exception:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("SeaweedFS's S3 gateway did not answer")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, bucket: str) -> dict[str, str]:
        return {"KRAKEN_STORAGE": "s3", "KRAKEN_S3_BUCKET": bucket, "KRAKEN_S3_ENDPOINT": self.endpoint,
                "KRAKEN_S3_ACCESS_KEY": self.ACCESS_KEY, "KRAKEN_S3_SECRET_KEY": self.SECRET_KEY}

    def client(self):
        import boto3  # only the S3 tests load boto3
        from botocore.config import Config  # with boto3, above
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.ACCESS_KEY, aws_secret_access_key=self.SECRET_KEY,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
