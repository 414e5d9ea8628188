"""Secrets for the secure profile: a CA, server certificates, tenant tokens and the users of Prometheus and Jaeger.

    python scripts/secure_setup.py [DIR]                 # make what is missing (default DIR: .secure/)
    python scripts/secure_setup.py DIR --rotate team-a   # add a new token for a tenant, print it

Writes into DIR (never commit it; .gitignore lists .secure/):
    tls/ca.crt ca.key, tls/{otelcol,jaeger,prometheus}.{crt,key}   server certificates (SANs: name, localhost,
                                                                    127.0.0.1) signed by the CA
    tokens/<tenant>.tokens       one bearer token per line (the collector watches the file)
    prometheus-web.yml           Prometheus --web.config.file: TLS + basic auth (users reader, collector; bcrypt)
    jaeger-readers.htpasswd      Jaeger query API/UI users (reader)
    jaeger-writers.htpasswd      Jaeger OTLP receiver users (collector)
    secure.env                   every password and token as NAME=value, for compose (--env-file) and scripts

    python scripts/secure_setup.py DIR --retire team-a TOKEN   # remove a token from the tenant's file

Permissions: what a service reads (server keys, token files, htpasswd files, the web config) is mode 0640 with the
group ``--group`` (default: your primary group); the directories are 0750. The services in the compose `secure`
profile run as their images' own users and get that group (``group_add: ${LLMTRACE_SECRETS_GID}``, from
secure.env), so they can read the secrets and nobody else on the host can. What no service reads stays
owner-only (0600): the CA key and secure.env.

Running it again keeps everything that exists: a rotated certificate or password means deleting its files first.
Needs the `secure` extra: pip install 'llmtrace-otel[secure]' (cryptography, bcrypt).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import ipaddress
import os
import secrets
import sys
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TENANTS = ("team-a", "team-b")
SERVICES = ("otelcol", "jaeger", "prometheus")
CERT_DAYS = 365


# Modes: PUBLIC (certificates), SERVICE (secrets a service reads, through the secrets group), OWNER (no service).
PUBLIC, SERVICE, OWNER = 0o644, 0o640, 0o600


def secrets_gid() -> int:
    """The group the services read the secrets through: LLMTRACE_SECRETS_GID, else the caller's primary group."""
    return int(os.environ.get("LLMTRACE_SECRETS_GID") or os.getgid())


def _dir(path: Path, gid: int) -> None:
    """A directory the secrets group may enter and list, nobody else."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, -1, gid)
    path.chmod(0o750)


def _write(path: Path, data: bytes | str, mode: int = SERVICE, gid: int | None = None) -> None:
    """Replace ``path`` atomically by a file of ``mode`` in group ``gid`` (never readable by others in between)."""
    gid = secrets_gid() if gid is None else gid
    _dir(path.parent, gid)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    os.chown(tmp, -1, gid)
    tmp.chmod(mode)
    os.replace(tmp, path)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "llmtrace"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer[0].subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        sans = [x509.DNSName(subject), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def make_tls(tls: Path) -> None:
    """The CA (kept, to issue more) and one server certificate per service."""
    if (tls / "ca.crt").exists():
        ca_key = serialization.load_pem_private_key((tls / "ca.key").read_bytes(), None)
        ca = x509.load_pem_x509_certificate((tls / "ca.crt").read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("llmtrace secure-profile CA", ca_key, None)
        _write(tls / "ca.key", _pem_key(ca_key), OWNER)
        _write(tls / "ca.crt", ca.public_bytes(serialization.Encoding.PEM), PUBLIC)
    for service in SERVICES:
        if not (tls / f"{service}.crt").exists():
            key = ec.generate_private_key(ec.SECP256R1())
            _write(tls / f"{service}.key", _pem_key(key))
            _write(
                tls / f"{service}.crt",
                _cert(service, key, (ca, ca_key)).public_bytes(serialization.Encoding.PEM),
                PUBLIC,
            )


def _env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(
        line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
    )


def _env_name(tenant: str) -> str:
    return "LLMTRACE_TOKEN_" + tenant.upper().replace("-", "_")


def new_token(directory: Path, tenant: str) -> str:
    """Append a fresh token to the tenant's token file (the collector picks it up without a restart)."""
    token = secrets.token_urlsafe(32)
    path = directory / "tokens" / f"{tenant}.tokens"
    issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _write(path, (path.read_text() if path.exists() else "") + f"{token} # {tenant}, issued {issued}\n")
    return token


def retire_token(directory: Path, tenant: str, token: str) -> int:
    """Remove ``token`` from the tenant's token file (atomically, same permissions); how many lines went."""
    path = directory / "tokens" / f"{tenant}.tokens"
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.split(maxsplit=1)[:1] != [token]]
    _write(path, "".join(kept))
    return len(lines) - len(kept)


def _bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def make_users(directory: Path, env: dict[str, str]) -> None:
    """Passwords (kept in secure.env), their bcrypt hashes for Prometheus and Jaeger."""
    reader = env.setdefault("LLMTRACE_READER_PASSWORD", secrets.token_urlsafe(24))
    collector = env.setdefault("LLMTRACE_COLLECTOR_PASSWORD", secrets.token_urlsafe(24))
    env["LLMTRACE_PROMETHEUS_USER"] = env["LLMTRACE_JAEGER_USER"] = "reader"
    env["LLMTRACE_PROMETHEUS_PASSWORD"] = env["LLMTRACE_JAEGER_PASSWORD"] = reader
    env.setdefault("GF_SECURITY_ADMIN_PASSWORD", secrets.token_urlsafe(24))  # Grafana's admin (compose secure)
    env["LLMTRACE_COLLECTOR_BASIC_AUTH"] = base64.b64encode(f"collector:{collector}".encode()).decode()
    if not (directory / "prometheus-web.yml").exists():
        _write(
            directory / "prometheus-web.yml",
            "# Prometheus --web.config.file (paths are relative to this file). Made by scripts/secure_setup.py.\n"
            "tls_server_config:\n  cert_file: tls/prometheus.crt\n  key_file: tls/prometheus.key\n"
            '  min_version: "TLS12"\n'
            f"basic_auth_users:\n  reader: '{_bcrypt(reader)}'\n  collector: '{_bcrypt(collector)}'\n",
        )
    if not (directory / "jaeger-readers.htpasswd").exists():
        _write(directory / "jaeger-readers.htpasswd", f"reader:{_bcrypt(reader)}\n")
    if not (directory / "jaeger-writers.htpasswd").exists():
        _write(directory / "jaeger-writers.htpasswd", f"collector:{_bcrypt(collector)}\n")


def setup(directory: Path) -> dict[str, str]:
    """Make whatever is missing in ``directory``; return the secure.env values."""
    env = _env(directory / "secure.env")
    env["LLMTRACE_SECRETS_GID"] = str(secrets_gid())
    env.setdefault("COMPOSE_PROFILES", "secure")  # `docker compose --env-file DIR/secure.env up -d`
    _dir(directory, secrets_gid())
    make_tls(directory / "tls")
    make_users(directory, env)
    for tenant in TENANTS:
        if _env_name(tenant) not in env:
            env[_env_name(tenant)] = new_token(directory, tenant)
    env["LLMTRACE_CA_FILE"] = str((directory / "tls" / "ca.crt").resolve())
    lines = ["# Made by scripts/secure_setup.py: secrets, never commit."] + [f"{k}={v}" for k, v in sorted(env.items())]
    _write(directory / "secure.env", "\n".join(lines) + "\n", OWNER)
    fix_modes(directory, secrets_gid())
    return env


def mode_of(relative: str) -> int:
    """The mode a file of the secrets dir should have, by its role."""
    if relative.endswith(".crt"):
        return PUBLIC
    return OWNER if relative in ("tls/ca.key", "secure.env") else SERVICE


def fix_modes(directory: Path, gid: int) -> None:
    """Every file and directory to its mode and group (also those made by an older version, or by hand)."""
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, -1, gid)
        path.chmod(0o750 if path.is_dir() else mode_of(path.relative_to(directory).as_posix()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", default=".secure", type=Path)
    parser.add_argument("--rotate", metavar="TENANT", help="add a new token for TENANT and print it")
    parser.add_argument("--retire", nargs=2, metavar=("TENANT", "TOKEN"), help="remove TOKEN from TENANT's file")
    parser.add_argument("--group", type=int, metavar="GID", help="the secrets group (default: your primary group)")
    args = parser.parse_args(argv)
    if args.group is not None:
        os.environ["LLMTRACE_SECRETS_GID"] = str(args.group)
    elif args.dir.exists():
        os.environ.setdefault("LLMTRACE_SECRETS_GID", str(args.dir.stat().st_gid))  # keep the directory's group
    if args.rotate:
        print(new_token(args.dir, args.rotate))
        return 0
    if args.retire:
        if not retire_token(args.dir, *args.retire):
            print(f"error: no such token in {args.retire[0]}'s file", file=sys.stderr)
            return 1
        return 0
    setup(args.dir)
    print(f"secure profile secrets in {args.dir.resolve()} (see secure.env)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
