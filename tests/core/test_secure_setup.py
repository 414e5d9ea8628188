"""scripts/secure_setup.py: the secure profile's secrets, without the stack (tests/stack/test_secure.py runs them)."""

from __future__ import annotations

import importlib.util
import ssl
import stat
from pathlib import Path

import bcrypt
import yaml
from cryptography import x509

ROOT = Path(__file__).resolve().parents[2]


def _setup_module():
    spec = importlib.util.spec_from_file_location("secure_setup", ROOT / "scripts" / "secure_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_secrets_are_private_and_consistent(tmp_path: Path):
    env = _setup_module().setup(tmp_path)
    # owner-only: what no service reads; owner + the secrets group: what a service reads (compose's group_add);
    # nothing is readable by others
    for private in ("tls/ca.key", "secure.env"):
        assert stat.S_IMODE((tmp_path / private).stat().st_mode) == 0o600, private
    for service_secret in ("tls/otelcol.key", "tokens/team-a.tokens", "prometheus-web.yml", "jaeger-readers.htpasswd"):
        assert stat.S_IMODE((tmp_path / service_secret).stat().st_mode) == 0o640, service_secret
    web = yaml.safe_load((tmp_path / "prometheus-web.yml").read_text())
    assert bcrypt.checkpw(env["LLMTRACE_PROMETHEUS_PASSWORD"].encode(), web["basic_auth_users"]["reader"].encode())
    readers = (tmp_path / "jaeger-readers.htpasswd").read_text()
    user, hashed = readers.strip().split(":", 1)
    assert user == "reader" and bcrypt.checkpw(env["LLMTRACE_JAEGER_PASSWORD"].encode(), hashed.encode())
    assert (tmp_path / "tokens" / "team-b.tokens").read_text().split()[0] == env["LLMTRACE_TOKEN_TEAM_B"]
    assert env["LLMTRACE_TOKEN_TEAM_A"] != env["LLMTRACE_TOKEN_TEAM_B"]


def test_server_certificates_verify_against_the_ca_for_their_names(tmp_path: Path):
    _setup_module().setup(tmp_path)
    for service in ("otelcol", "jaeger", "prometheus"):
        cert = x509.load_pem_x509_certificate((tmp_path / "tls" / f"{service}.crt").read_bytes())
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate((tmp_path / "tls" / "ca.crt").read_bytes()))
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert {service, "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.crt"))
    context.load_cert_chain(tmp_path / "tls" / "otelcol.crt", tmp_path / "tls" / "otelcol.key")  # key matches


def test_running_again_keeps_every_secret_and_rotate_appends(tmp_path: Path):
    module = _setup_module()
    first = module.setup(tmp_path)
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "secure.env"}
    assert module.setup(tmp_path) == first
    assert {p: p.read_bytes() for p in files} == files
    new = module.new_token(tmp_path, "team-a")
    lines = (tmp_path / "tokens" / "team-a.tokens").read_text().splitlines()
    assert [line.split()[0] for line in lines] == [first["LLMTRACE_TOKEN_TEAM_A"], new]
