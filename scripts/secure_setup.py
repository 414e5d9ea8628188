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


def _write(path: Path, data: bytes | str, private: bool = True) -> None:
    """Create a file readable by its owner only (keys, tokens, passwords) unless told it is public."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    tmp.chmod(0o600 if private else 0o644)
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
        _write(tls / "ca.key", _pem_key(ca_key))
        _write(tls / "ca.crt", ca.public_bytes(serialization.Encoding.PEM), private=False)
    for service in SERVICES:
        if not (tls / f"{service}.crt").exists():
            key = ec.generate_private_key(ec.SECP256R1())
            _write(tls / f"{service}.key", _pem_key(key))
            _write(
                tls / f"{service}.crt",
                _cert(service, key, (ca, ca_key)).public_bytes(serialization.Encoding.PEM),
                private=False,
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
    make_tls(directory / "tls")
    make_users(directory, env)
    for tenant in TENANTS:
        if _env_name(tenant) not in env:
            env[_env_name(tenant)] = new_token(directory, tenant)
    env["LLMTRACE_CA_FILE"] = str((directory / "tls" / "ca.crt").resolve())
    lines = ["# Made by scripts/secure_setup.py: secrets, never commit."] + [f"{k}={v}" for k, v in sorted(env.items())]
    _write(directory / "secure.env", "\n".join(lines) + "\n")
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", default=".secure", type=Path)
    parser.add_argument("--rotate", metavar="TENANT", help="add a new token for TENANT and print it")
    args = parser.parse_args(argv)
    if args.rotate:
        print(new_token(args.dir, args.rotate))
        return 0
    setup(args.dir)
    print(f"secure profile secrets in {args.dir.resolve()} (see secure.env)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
