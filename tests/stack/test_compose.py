"""docker-compose.yml without an engine (none here): the files each service mounts, what its user may read of them,
its ports and variables, checked against the config files the native tests run and the secrets that
scripts/secure_setup.py makes. What only a container engine can show (the images' own behaviour) is not covered."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT

SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
SECURE_SERVICES = ("otelcol-secure", "jaeger-secure", "prometheus-secure", "grafana-secure")
# The users the images run as (their Dockerfiles' USER): gcr.io/distroless/base-debian12:nonroot (our collector
# images), jaegertracing/jaeger (10001, jaegertracing/jaeger#4906), prom/prometheus (nobody), grafana/grafana (472).
IMAGE_USERS = {"otelcol-secure": 65532, "jaeger-secure": 10001, "prometheus-secure": 65534, "grafana-secure": 472}
SCALE_SERVICES = (
    "otelcol-tier1",
    "gateway-1",
    "gateway-2",
    "jaeger-kafka-writer",
    "kafka",
    "jaeger-scale-data-init",
    "jaeger-scale",
    "prometheus-scale",
    "victoriametrics",
)
SECRETS_GID = 4242  # a group no image user has
# Ports reachable from other hosts in the secure profile: each one takes TLS and a credential.
SECURE_PUBLIC_PORTS = {
    "otelcol-secure": {4317, 4318, 4327, 4328},
    "jaeger-secure": {16686},
    "prometheus-secure": {9090},
    "grafana-secure": {3000},
}


def _secure_setup() -> Any:
    spec = importlib.util.spec_from_file_location("secure_setup", ROOT / "scripts" / "secure_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    """A copy of the project's layout with .secure/ made by the script, in a directory any user may traverse (as
    the bind mounts' sources are reached in a container), secrets group SECRETS_GID when we may chown to it."""
    base = Path(tempfile.mkdtemp(prefix="llmtrace-compose-"))
    base.chmod(0o755)
    gid = SECRETS_GID if os.geteuid() == 0 else os.getgid()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMTRACE_SECRETS_GID", str(gid))
        _secure_setup().setup(base / ".secure")
    try:
        yield base
    finally:
        shutil.rmtree(base)


def _binds(service: str) -> dict[str, str]:
    """container path -> source (relative to the project) of the service's bind mounts."""
    binds = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            binds[target] = source[2:]
    return binds


def _host_path(service: str, container_path: str) -> tuple[str, str] | None:
    """(bind source relative to the project, path below it) behind ``container_path`` in the service, or None."""
    for target, source in sorted(_binds(service).items(), key=lambda item: -len(item[0])):
        if container_path == target or container_path.startswith(target + "/"):
            return source, container_path[len(target) :]
    return None


def secrets_read(service: str, secrets: Path) -> set[str]:
    """Every /secure/... path the service's configuration makes it read."""
    pattern = r"\$\{env:LLMTRACE_SECURE_DIR:-/secure\}(/[^\s}'\"]+)"
    if service == "otelcol-secure":
        paths = set(re.findall(pattern, (ROOT / "collector/secure/otelcol.yaml").read_text()))
        tokens = {f"/tokens/{p.name}" for p in (secrets / "tokens").glob("*.tokens")}
        assert {p for p in paths if p.startswith("/tokens/")} == tokens  # a receiver for every tenant made
        return {"/secure" + p for p in paths}
    if service == "jaeger-secure":
        return {"/secure" + p for p in re.findall(pattern, (ROOT / "collector/secure/jaeger.yaml").read_text())}
    if service == "prometheus-secure":
        (flag,) = [f for f in SERVICES[service]["command"] if f.startswith("--web.config.file=")]
        web = flag.split("=", 1)[1]
        tls = yaml.safe_load((secrets / Path(web).name).read_text())["tls_server_config"]
        return {web} | {str(Path(web).parent / tls[key]) for key in ("cert_file", "key_file")}
    datasources = (ROOT / "grafana/provisioning-secure/datasources/datasources.yaml").read_text()
    return set(re.findall(r"\$__file\{(/secure/[^}]+)\}", datasources))


def _readable(source: Path, below: str, uid: int, groups: list[int]) -> bool:
    """Whether a process of ``uid`` (primary group ``uid``) with supplementary ``groups`` can read ``below`` in a bind
    mount of ``source``. As in a container, the directories above the mount are not traversed: the process gets a
    handle on ``source`` (as the engine, root, opens it) and reopens through it, which checks the mounted file (or
    directory and what is below it) only."""
    handle = os.open(source, os.O_PATH)
    try:
        cat = ["cat", f"/proc/self/fd/{handle}{below}"]
        run = subprocess.run(cat, user=uid, group=uid, extra_groups=groups, pass_fds=(handle,), capture_output=True)
    finally:
        os.close(handle)
    return run.returncode == 0


@pytest.mark.parametrize("service", SECURE_SERVICES)
def test_secure_service_mounts_exactly_what_it_reads_and_its_user_can_read_it(project: Path, service: str):
    secrets = project / ".secure"
    reads = secrets_read(service, secrets)
    assert reads, service
    binds = _binds(service)
    secret_mounts = {target: source for target, source in binds.items() if source.startswith(".secure")}
    for source in binds.values():  # every bind source exists: the repo's files and what the script made
        assert (ROOT / source).exists() or (project / source).exists(), (service, source)
    # what is mounted of the secrets is read (least privilege), and everything read is mounted
    host = {path: _host_path(service, path) for path in reads}
    assert None not in host.values(), (service, host)
    assert {t for t in secret_mounts if any(p == t or p.startswith(t + "/") for p in reads)} == set(secret_mounts)
    assert (secrets / "tls" / "ca.key").exists() and not any(".secure/tls/ca.key" in s for s in binds.values())
    assert not any(s.endswith("secure.env") for s in binds.values())

    if os.geteuid() != 0:
        pytest.skip("reading as the images' users needs root (CI runs as root)")
    uid, group_add = IMAGE_USERS[service], SERVICES[service].get("group_add", [])
    groups = [SECRETS_GID] if group_add == ["${LLMTRACE_SECRETS_GID:-65534}"] else []
    for path in sorted(reads):
        source, below = host[path]
        assert _readable(project / source, below, uid, groups), f"{service} (uid {uid}) cannot read {path}"
        if not path.endswith(".crt"):  # a secret: the group is what grants it, nobody else may read it
            assert not _readable(project / source, below, uid, []), f"{path} is readable without the secrets group"
    for owner_only in ("tls/ca.key", "secure.env"):  # not even for the secrets group
        assert not _readable(secrets / owner_only, "", uid, [SECRETS_GID]), owner_only


def test_secure_env_drives_compose(project: Path):
    """`docker compose --env-file .secure/secure.env up -d`: the file selects the profile and holds every variable
    the secure services interpolate; each service gets only the secrets it uses."""
    env = _secure_setup()._env(project / ".secure" / "secure.env")
    assert env["COMPOSE_PROFILES"] == "secure"
    assert int(env["LLMTRACE_SECRETS_GID"]) == (SECRETS_GID if os.geteuid() == 0 else os.getgid())
    text = (ROOT / "docker-compose.yml").read_text()
    assert set(re.findall(r"\$\{(\w+)", text)) <= set(env)
    environment = {name: set(SERVICES[name].get("environment", {})) for name in SECURE_SERVICES}
    assert all("env_file" not in SERVICES[name] for name in SECURE_SERVICES)  # not every secret to every service
    collector = (ROOT / "collector/secure/otelcol.yaml").read_text()
    needed = {v for v in re.findall(r"\$\{env:(\w+)\}", collector)}  # no default: must come from compose
    assert needed == {"LLMTRACE_COLLECTOR_BASIC_AUTH"} and needed <= environment["otelcol-secure"]
    grafana = (ROOT / "grafana/provisioning-secure/datasources/datasources.yaml").read_text()
    assert (
        set(re.findall(r"\$__env\{(\w+)\}", grafana)) | {"GF_SECURITY_ADMIN_PASSWORD"} <= environment["grafana-secure"]
    )
    for name in SECURE_SERVICES:
        passwords = {k for k in environment[name] if "PASSWORD" in k or "TOKEN" in k or "BASIC_AUTH" in k}
        assert passwords <= {"LLMTRACE_COLLECTOR_BASIC_AUTH", "GF_SECURITY_ADMIN_PASSWORD", "LLMTRACE_READER_PASSWORD"}
    assert "LLMTRACE_READER_PASSWORD" not in environment["otelcol-secure"]
    assert "LLMTRACE_COLLECTOR_BASIC_AUTH" not in environment["grafana-secure"]


def _published(port: str) -> tuple[str, int]:
    """("127.0.0.1" or "*", host port) of a compose port mapping."""
    parts = str(port).split(":")
    return (parts[0] if len(parts) == 3 else "*", int(parts[-2]))


def test_compose_profiles_local_on_loopback_and_secure_with_the_tested_files():
    by_profile = {name: svc["profiles"] for name, svc in SERVICES.items()}
    assert by_profile == {
        **{name: ["local"] for name in ("otelcol", "jaeger-data-init", "jaeger", "prometheus", "grafana")},
        **{name: ["secure"] for name in (*SECURE_SERVICES, "jaeger-secure-data-init")},
        **{name: ["scale"] for name in SCALE_SERVICES},  # docs/scale.md; its files: tests/stack/test_scale.py
    }
    for name in ("otelcol", "jaeger", "prometheus", "grafana"):
        assert {_published(p)[0] for p in SERVICES[name]["ports"]} == {"127.0.0.1"}, name
    for name in SECURE_SERVICES:  # open to the network: only ports that take TLS and a credential
        public = {port for host, port in map(_published, SERVICES[name]["ports"]) if host != "127.0.0.1"}
        assert public == SECURE_PUBLIC_PORTS[name], name
    assert SERVICES["otelcol-secure"]["command"] == [
        "--config=/etc/otelcol/otelcol.yaml",
        "--config=/etc/otelcol/secure.yaml",
    ]
    assert "--web.config.file=/secure/prometheus-web.yml" in SERVICES["prometheus-secure"]["command"]
    assert SERVICES["grafana-secure"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    local = yaml.safe_load((ROOT / "grafana/provisioning/datasources/datasources.yaml").read_text())["datasources"]
    secure = yaml.safe_load((ROOT / "grafana/provisioning-secure/datasources/datasources.yaml").read_text())
    assert [d["uid"] for d in secure["datasources"]] == [d["uid"] for d in local]  # the dashboards' uids
    for source in secure["datasources"]:
        assert source["url"].startswith("https://") and source["basicAuth"] is True, source["name"]
        assert source["secureJsonData"]["basicAuthPassword"] == "$__env{LLMTRACE_READER_PASSWORD}"


@pytest.mark.parametrize("jaeger", ["jaeger", "jaeger-secure"])
def test_jaegers_badger_volume_is_handed_to_its_user_first(jaeger: str):
    """A new named volume belongs to root; Jaeger runs as 10001 and could not create badger's directories."""
    (data,) = [v.split(":")[0] for v in SERVICES[jaeger]["volumes"] if v.endswith(":/badger")]
    init = SERVICES[jaeger]["depends_on"]
    ((name, condition),) = init.items()
    assert condition == {"condition": "service_completed_successfully"}
    assert SERVICES[name]["volumes"] == [f"{data}:/badger"] and SERVICES[name]["user"] == "root"
    assert SERVICES[name]["entrypoint"] == ["chown", "-R", str(IMAGE_USERS["jaeger-secure"]), "/badger"]
    assert SERVICES[name]["image"] == SERVICES[jaeger]["image"]


LISTEN = re.compile(r"\$\{env:(\w+):-([^}]*)\}")


@pytest.mark.parametrize(
    "service",
    [
        "otelcol",
        "jaeger",
        "otelcol-secure",
        "jaeger-secure",
        *("otelcol-tier1", "gateway-1", "gateway-2", "jaeger-kafka-writer", "jaeger-scale"),
    ],
)
def test_configs_listen_on_loopback_unless_compose_says_otherwise(service: str):
    """Started by hand with the repo's configs, a binary is reachable from this host only; compose opens each
    listener inside its container (reached through the published ports, loopback ones in the local profile)."""
    configs = [ROOT / source for source in _binds(service).values() if source.startswith("collector/")]
    listeners = {}
    for config in configs:
        for var, default in LISTEN.findall(config.read_text()):
            if var.endswith(("_ENDPOINT", "_HOST")) and re.match(r"^[\d.]+(:\d+)?$", default):
                listeners[var] = default
    assert listeners, service
    environment = SERVICES[service]["environment"]
    for var, default in listeners.items():
        assert default.split(":")[0] == "127.0.0.1", (config, var, default)
        assert environment.get(var, "").split(":")[0] == "0.0.0.0", (service, var)
        assert default.split(":")[1:] == environment[var].split(":")[1:], (service, var)  # same port
