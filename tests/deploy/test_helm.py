"""The Helm chart (docker/helm/kraken): rendered by the real `helm template` for two value sets, every
object validated by kubeconform against the Kubernetes 1.34 schemas (strict: an unknown field fails),
and what a deployment depends on asserted: replicas, probes, the environment the app reads, sticky
sessions, the migrate Job, secrets only from a Secret. helm and kubeconform are built by
scripts/tools.sh (`make tools`, a step of `make test`)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from kraken.config import _ENV_NAMES

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "docker" / "helm" / "kraken"
K8S_VERSION = "1.34.0"
# the environment names the app reads besides _ENV_NAMES (kraken/config.py's own parsing)
OTHER_ENV = {"REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB", "REDIS_SENTINELS",
             "CORS_ORIGINS", "KRAKEN_MIGRATE_ON_START"}


def tool(name: str) -> str:
    out = subprocess.run([str(ROOT / "scripts" / "tools.sh"), "path"], capture_output=True, text=True, check=True)
    path = dict(line.split("=", 1) for line in out.stdout.split())[name]
    assert Path(path).is_file(), f"{name} is not built: run `make tools` (scripts/tools.sh build)"
    return path


def render(values: str) -> list[dict]:
    out = subprocess.run([tool("helm"), "template", "rel", str(CHART), "-f", str(CHART / "ci" / values)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module")
def schemas(tmp_path_factory) -> Path:
    """kubernetes-validate's schemas made standalone for kubeconform: each kind's file refers to one
    shared `_definitions.json` by an absolute URL, which kubeconform's file loader cannot follow, so
    the definitions are put inside each kind's schema."""
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{K8S_VERSION}-local-strict"
    target = tmp_path_factory.mktemp("k8s") / f"v{K8S_VERSION}-standalone-strict"
    target.mkdir()
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    for path in source.glob("*.json"):
        if path.name == "_definitions.json":
            continue
        schema = json.loads(path.read_text().replace('"/api/_definitions.json#/$defs/', '"#/$defs/'))
        schema.pop("$id", None)
        schema["$defs"] = definitions
        (target / path.name).write_text(json.dumps(schema))
    return target.parent


def kubeconform(schemas: Path, docs: list[dict], tmp_path: Path) -> dict:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    location = str(schemas) + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    out = subprocess.run([tool("kubeconform"), "-strict", "-summary", "-output", "json", "-kubernetes-version",
                          K8S_VERSION, "-schema-location", location, str(manifest)], capture_output=True, text=True)
    report = json.loads(out.stdout)
    report["returncode"] = out.returncode
    return report


def by_kind(docs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for doc in docs:
        out.setdefault(doc["kind"], []).append(doc)
    return out


def env_of(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container["env"]}


@pytest.mark.parametrize("values", ["sentinel-s3.yaml", "single-redis-local.yaml"])
def test_every_rendered_object_is_a_valid_kubernetes_object(values, schemas, tmp_path):
    docs = render(values)
    report = kubeconform(schemas, docs, tmp_path)
    assert report["returncode"] == 0, report
    assert report["summary"] == {"valid": len(docs), "invalid": 0, "errors": 0, "skipped": 0}, report


def test_the_validator_refuses_a_broken_object(schemas, tmp_path):
    """kubeconform really checks: a wrong type and an unknown field are both caught."""
    docs = render("single-redis-local.yaml")
    deployment = by_kind(docs)["Deployment"][0]
    deployment["spec"]["replicas"] = "two"
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    report = kubeconform(schemas, docs, tmp_path)
    assert report["returncode"] != 0
    assert report["summary"]["invalid"] == 1, report
    (invalid,) = [r for r in report["resources"] if r["status"] == "statusInvalid"]
    assert invalid["kind"] == "Deployment"


def test_sentinel_and_s3_values_reach_the_app_and_secrets_come_from_the_named_secret():
    kinds = by_kind(render("sentinel-s3.yaml"))
    assert "Secret" not in kinds and "PersistentVolumeClaim" not in kinds  # existing Secret, files in S3
    (deployment,) = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 4
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = env_of(container)
    assert env["REDIS_SENTINELS"]["value"] == "sentinel-0.sentinel:26379,sentinel-1.sentinel:26379,sentinel-2.sentinel:26379"
    assert env["REDIS_SENTINEL_MASTER"]["value"] == "kraken"
    assert "REDIS_URL" not in env
    assert env["KRAKEN_STORAGE"]["value"] == "s3" and env["KRAKEN_S3_BUCKET"]["value"] == "chat-files"
    assert env["KRAKEN_MIGRATE_ON_START"]["value"] == "0"  # the Job migrates
    for name in ("JWT_SECRET", "JWT_REFRESH_SECRET", "LIVEKIT_API_SECRET", "KRAKEN_S3_SECRET_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "kraken-prod", name
        assert "value" not in env[name]
    assert "volumes" not in container or all(v["name"] != "uploads" for v in container.get("volumeMounts", []))
    (ingress,) = kinds["Ingress"]
    assert ingress["spec"]["tls"] == [{"secretName": "chat-tls", "hosts": ["chat.example.org"]}]


def test_single_redis_and_a_shared_volume():
    kinds = by_kind(render("single-redis-local.yaml"))
    (deployment,) = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = env_of(container)
    assert env["REDIS_URL"]["value"] == "redis://redis-master:6379/0" and "REDIS_SENTINELS" not in env
    assert env["KRAKEN_STORAGE"]["value"] == "local" and env["KRAKEN_UPLOAD_DIR"]["value"] == "/data/uploads"
    (claim,) = kinds["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # every replica serves every file
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert claims == {claim["metadata"]["name"]}
    (secret,) = kinds["Secret"]
    assert set(secret["stringData"]) == {"JWT_SECRET", "JWT_REFRESH_SECRET", "LIVEKIT_API_SECRET"}
    assert env["JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]


@pytest.mark.parametrize("values", ["sentinel-s3.yaml", "single-redis-local.yaml"])
def test_probes_sticky_sessions_migrations_and_known_settings(values):
    kinds = by_kind(render(values))
    (deployment,) = kinds["Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port = container["ports"][0]
    assert port == {"name": "http", "containerPort": 3000}
    assert container["readinessProbe"]["httpGet"] == {"path": "/api/health", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/api/health/live", "port": "http"}
    # every variable set is one the app reads (a misspelt name would be silently ignored)
    known = set(_ENV_NAMES) | OTHER_ENV | {"KRAKEN_STORAGE", "KRAKEN_S3_BUCKET", "KRAKEN_S3_ENDPOINT",
                                           "KRAKEN_S3_REGION", "KRAKEN_S3_ACCESS_KEY", "KRAKEN_S3_SECRET_KEY"}
    assert set(env_of(container)) <= known, set(env_of(container)) - known
    # long-polling sockets: the ingress pins a browser to one pod with a cookie
    (ingress,) = kinds["Ingress"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/session-cookie-name"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    (service,) = kinds["Service"]
    assert backend["name"] == service["metadata"]["name"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    # the migrations run once per release, before the new pods, as a hook Job with the same settings
    (job,) = kinds["Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["flask", "--app", "wsgi", "kraken", "migrate"]
    assert {e["name"] for e in migrate["env"]} == set(env_of(container)) - {"KRAKEN_MIGRATE_ON_START"}
