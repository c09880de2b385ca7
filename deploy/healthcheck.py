"""Container health checks (Dockerfile HEALTHCHECK, docker-compose.yml); exit 0 healthy, 1 not.

  python deploy/healthcheck.py            # web: GET /api/health on this container's gunicorn
  python deploy/healthcheck.py --worker   # worker: this host's db_worker wrote a fresh heartbeat

The web check sends the first ALLOWED_HOSTS name as Host (Django answers 400 to 127.0.0.1 otherwise)
and reads only the status code; /api/health is exempt from the HTTPS redirect. Standard library only
for the web check, so it costs no Django start-up every few seconds.
"""

import argparse
import http.client
import os
import socket
import sys


def web() -> bool:
    hosts = [h.strip().lstrip(".") for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = next((h for h in hosts if h != "*"), "localhost")
    connection = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=10)
    try:
        connection.request("GET", "/api/health", headers={"Host": host})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def worker() -> bool:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agepar.settings")
    import django

    django.setup()
    from submissions.models import WorkerHeartbeat
    from submissions.workers import alive_since

    return WorkerHeartbeat.objects.filter(hostname=socket.gethostname()[:255], seen_at__gte=alive_since()).exists()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="check this host's task worker instead of the web server")
    sys.exit(0 if (worker() if parser.parse_args().worker else web()) else 1)
