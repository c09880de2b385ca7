"""A throwaway certificate authority and server certificates (openssl), for nginx and PostgreSQL TLS."""

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, text=True)


@dataclass(frozen=True)
class ServerCert:
    cert: Path
    key: Path


@dataclass(frozen=True)
class CertificateAuthority:
    directory: Path
    cert: Path
    key: Path

    @classmethod
    def create(cls, directory: Path) -> "CertificateAuthority":
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls(directory, directory / "ca.pem", directory / "ca.key")
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-days", "2", "-subj",
                 "/CN=Portal AGEPAR test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", str(ca.key), "-out", str(ca.cert))
        return ca

    def issue(self, name: str, *, hosts: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ("127.0.0.1",)
              ) -> ServerCert:
        """A server certificate for `hosts`/`ips` signed by this CA (the key readable by its owner only)."""
        key, csr, cert = (self.directory / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={hosts[0]}", "-keyout", str(key),
                 "-out", str(csr))
        extensions = self.directory / f"{name}.ext"
        names = ",".join([*(f"DNS:{h}" for h in hosts), *(f"IP:{ip}" for ip in ips)])
        extensions.write_text(f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key), "-CAcreateserial",
                 "-days", "2", "-sha256", "-extfile", str(extensions), "-out", str(cert))
        key.chmod(0o600)
        return ServerCert(cert, key)
