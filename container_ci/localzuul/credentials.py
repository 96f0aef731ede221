"""The local Zuul's secrets, made once and kept in `<state>/secrets` (0700,
files 0600), never printed: the TLS CA and certificates ZooKeeper and Zuul
authenticate each other with, the executor's and the node's SSH keys, the
keystore password, the JWT secret of `[auth zuul_operator]`.

Made with the openssl and ssh-keygen programs (no Python crypto library
needed in the harness's venv); a file that exists is never regenerated,
so a second `up` keeps the keystore readable and the node's key trusted."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import Layout

CERT_DAYS = "3650"


@dataclass(frozen=True)
class Secrets:
    """Paths of the secret files (the values are read only where written into a file)."""

    ca_cert: Path
    server_pem: Path  # ZooKeeper's key and certificate, one PEM (its keystore)
    client_cert: Path
    client_key: Path
    ssh_key: Path  # the executor's private key; the node user authorizes its .pub (node.py)
    host_key: Path  # the node sshd's host key
    keystore_password: str
    jwt_secret: str


def _write_private(path: Path, text: str) -> None:
    """Create `path` 0600 before any byte is written (no window where it is readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def _token(layout: Layout, name: str) -> str:
    path = layout.secret(name)
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ZuulError(f"{what} failed: {done.stderr.strip()[-300:]}")


def _certificate(layout: Layout, name: str, subject: str, ca: tuple[Path, Path]) -> None:
    """`name`.key and `name`.crt signed by the CA, valid for 127.0.0.1 and localhost."""
    key, cert = layout.secret(f"{name}.key"), layout.secret(f"{name}.crt")
    if key.exists() and cert.exists():
        return
    request = layout.secret(f"{name}.csr")
    extensions = layout.secret(f"{name}.ext")
    _run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
          "-out", str(key)], f"openssl genpkey ({name})")  # fmt: skip
    key.chmod(0o600)
    _run(["openssl", "req", "-new", "-key", str(key), "-subj", subject, "-out", str(request)],
         f"openssl req ({name})")  # fmt: skip
    _write_private(
        extensions,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    _run(["openssl", "x509", "-req", "-in", str(request), "-CA", str(ca[1]), "-CAkey", str(ca[0]),
          "-CAcreateserial", "-days", CERT_DAYS, "-sha256", "-extfile", str(extensions),
          "-out", str(cert)], f"openssl x509 ({name})")  # fmt: skip
    cert.chmod(0o600)
    request.unlink()
    extensions.unlink()


def _ssh_key(path: Path, comment: str) -> None:
    if path.exists():
        return
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
         f"ssh-keygen ({path.name})")  # fmt: skip
    path.chmod(0o600)


def ensure(layout: Layout) -> Secrets:
    """Every secret, made if missing."""
    ca_key, ca_cert = layout.secret("ca.key"), layout.secret("ca.crt")
    if not (ca_key.exists() and ca_cert.exists()):
        _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", CERT_DAYS,
              "-subj", "/CN=container-ci local zuul CA", "-keyout", str(ca_key),
              "-out", str(ca_cert)], "openssl req (CA)")  # fmt: skip
    _certificate(layout, "zookeeper", "/CN=localhost", (ca_key, ca_cert))
    _certificate(layout, "client", "/CN=zuul", (ca_key, ca_cert))
    server_pem = layout.secret("zookeeper.pem")
    if not server_pem.exists():
        _write_private(
            server_pem,
            layout.secret("zookeeper.key").read_text() + layout.secret("zookeeper.crt").read_text(),
        )
    ssh_key = layout.secret("id_ed25519")
    _ssh_key(ssh_key, "zuul-executor@container-ci-local")
    host_key = layout.secret("ssh_host_ed25519_key")
    _ssh_key(host_key, "node@container-ci-local")
    for path in layout.secrets.iterdir():
        path.chmod(0o600)
    return Secrets(
        ca_cert=ca_cert,
        server_pem=server_pem,
        client_cert=layout.secret("client.crt"),
        client_key=layout.secret("client.key"),
        ssh_key=ssh_key,
        host_key=host_key,
        keystore_password=_token(layout, "keystore-password"),
        jwt_secret=_token(layout, "jwt-secret"),
    )
