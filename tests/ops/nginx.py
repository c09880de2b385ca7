"""A real nginx (Debian package) running the shipped deploy/nginx template, on loopback ports, with
the certificate deploy/nginx/self-signed.sh makes (clients trust it as its own CA).

The template is rendered the way envsubst renders it in the nginx image (only the named variables);
a minimal main configuration around it keeps every path nginx writes inside the test's folder.
"""

import contextlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.live import ROOT, free_port, stop
from tests.tools import unavailable

TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "agepar.conf.template"
SELF_SIGNED = ROOT / "deploy" / "nginx" / "self-signed.sh"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render(template: Path, variables: dict[str, str]) -> str:
    """envsubst with an explicit variable list: ${NAME} for the given names only."""
    return re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), m.group(0)), template.read_text())


def require_nginx() -> None:
    if not os.access(NGINX, os.X_OK):
        unavailable("nginx is missing: .ci/run installs Debian's nginx")


@dataclass(frozen=True)
class Proxy:
    https: str  # https://localhost:PORT
    http: str
    ca_file: Path  # the self-signed certificate, for `verify=`
    access_log: Path


@contextlib.contextmanager
def nginx(tmp_path: Path, upstream: str, *, server_name: str = "localhost"):
    """nginx with the shipped template in front of `upstream` (host:port); yields its Proxy."""
    require_nginx()
    certs = tmp_path / "nginx-certs"
    subprocess.run(["sh", str(SELF_SIGNED), str(certs), server_name], check=True, capture_output=True, text=True)
    https_port, http_port = free_port(), free_port()
    site = render(TEMPLATE, {"NGINX_SERVER_NAME": server_name, "NGINX_HTTP_PORT": f"127.0.0.1:{http_port}",
                             "NGINX_HTTPS_PORT": f"127.0.0.1:{https_port}", "NGINX_CERT_DIR": str(certs),
                             "AGEPAR_UPSTREAM": upstream, "NGINX_MAX_BODY_SIZE": "101m"})
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "agepar.conf").write_text(site)
    access_log = prefix / "access.log"
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                            "scgi"))
    # As root, nginx's workers would switch to `nobody`, who cannot enter pytest's private folders.
    user = "user root root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} info;
events {{ worker_connections 512; }}
http {{
    access_log {access_log};
{temp}
    include {prefix / 'agepar.conf'};
}}
""")
    conf = str(prefix / "nginx.conf")
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", conf], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", conf, "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proxy = Proxy(f"https://{server_name}:{https_port}", f"http://127.0.0.1:{http_port}", certs / "fullchain.pem",
                  access_log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{proxy.http}/", timeout=5, allow_redirects=False)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {(prefix / 'error.log').read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield proxy
    finally:
        stop(process)
