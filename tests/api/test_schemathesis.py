"""Schemathesis fuzzes every operation of /api/schema/ over real HTTP, as a signed-in front end would.

The live server runs in-process on the test database, so the fuzzer's user, its session and the
objects the ids point at are made here. Each operation gets EXAMPLES generated requests (examples,
boundary values, random data); responses must be no 5xx, a documented status code and content type,
and a body matching the documented schema. The stateful test follows the links Schemathesis infers
(a submission created, then read and retried; a file listed, then read, downloaded, relinked, deleted).
"""

from collections import Counter

import pytest
import requests
import schemathesis
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import UserFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 30
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))
# Operations that end the caller's session: after one of them, sign in again before the next request.
SESSION_ENDERS = ("/api/auth/logout", "/api/auth/sessions/revoke-others", "/api/auth/change-password",
                  "/api/auth/sessions/{public_id}/revoke", "/api/auth/login")


class FrontEnd:
    """A requests session holding what the front end holds: the session cookie and the CSRF header."""

    def __init__(self, base_url: str, user):
        self.base_url, self.user = base_url, user
        self.http = requests.Session()
        self.seen = Counter()  # (operation, status code, error code)
        self.sign_in()

    def sign_in(self):
        client = Client()
        client.force_login(self.user)
        self.http.cookies.clear()
        self.http.headers.pop("X-CSRFToken", None)
        self.http.cookies.set(django_settings.SESSION_COOKIE_NAME,
                              client.cookies[django_settings.SESSION_COOKIE_NAME].value)
        token = self.http.get(f"{self.base_url}/api/auth/csrf", timeout=10).json()["csrfToken"]
        self.http.headers["X-CSRFToken"] = token

    def call(self, case):
        # Schemathesis fills the cookieAuth scheme with made-up values (mostly empty): keep the real session,
        # so requests get past authentication (anonymous access is tested endpoint by endpoint elsewhere).
        if case.cookies:
            case.cookies.pop(django_settings.SESSION_COOKIE_NAME, None)
        response = case.call(session=self.http, timeout=30)
        code = response.json().get("code") if response.headers.get("Content-Type") == "application/json" \
            and response.status_code >= 400 else None
        self.seen[(f"{case.operation.method.upper()} {case.operation.path}", response.status_code, code)] += 1
        if case.operation.path in SESSION_ENDERS or response.status_code == 401:
            self.sign_in()
        return response


@pytest.fixture
def fuzz_user(db):
    return UserFactory(nome="Fábio Fuzz", cpf="11144477735", is_staff=True, is_superuser=True, roles=["admin"])


@pytest.fixture(autouse=True)
def _worker_alive(db, settings):
    """A worker beats for the whole run, as in production: the submissions the fuzzer queues would
    otherwise (rightly) turn /api/health into a 503 `no_worker`, which the fuzzer counts as a server error."""
    from django.utils import timezone

    from submissions.models import WorkerHeartbeat

    settings.WORKER_HEARTBEAT_SECONDS = 3600  # one beat stays fresh for the run
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="schemathesis", hostname="test", pid=1, started_at=now, seen_at=now)


@pytest.fixture
def known_ids(fuzz_user, front_end):
    """Real objects for the id parameters, so operations are exercised past their 404."""
    from submissions.models import Submission
    from tests.submissions.helpers import make_submission

    failed = make_submission(fuzz_user, status="error")
    done = make_submission(fuzz_user, status="done")
    queued = make_submission(fuzz_user, status="queued")
    withdrawable = [make_submission(fuzz_user, status="done").pk for _ in range(2)]
    api = front_end.base_url + "/api"

    def upload(**fields):
        return front_end.http.post(f"{api}/fileshare/items", files={"file": ("nota.txt", b"texto\n", "text/plain")},
                                   data=fields, timeout=30).json()["id"]

    items = [upload(), upload(password="senha-do-arquivo", max_downloads="2")]
    doomed = [upload(), upload()]  # DELETE gets its own: the other operations keep theirs
    # A second session of the same person, for the revoke operation.
    Client().force_login(fuzz_user)
    sessions = [s["id"] for s in front_end.http.get(f"{api}/auth/sessions", timeout=30).json()["results"]]
    assert Submission.objects.count() == 5 and len(sessions) == 2
    return {("DELETE", "/api/submissions/"): ("id", withdrawable),  # DELETE gets its own here too
            ("*", "/api/submissions/"): ("id", [failed.pk, done.pk, queued.pk]),
            ("DELETE", "/api/fileshare/items/"): ("id", doomed),
            ("*", "/api/fileshare/items/"): ("id", items),
            ("*", "/api/auth/sessions/{public_id}"): ("public_id", sessions)}


@pytest.fixture
def front_end(base_url, fuzz_user):
    front_end = FrontEnd(base_url, fuzz_user)
    yield front_end
    for (operation, status, code), count in sorted(front_end.seen.items()):
        print(f"{operation:55} {status} {code or '':28} {count}")


@pytest.fixture
def api_schema(base_url, front_end, known_ids):
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/", headers=dict(front_end.http.headers),
                                           cookies=front_end.http.cookies.get_dict(), timeout=30)

    @schema.hook
    def before_generate_path_parameters(context, strategy):
        for (method, prefix), (name, ids) in known_ids.items():
            if method in ("*", context.operation.method.upper()) and context.operation.path.startswith(prefix):
                # The known id replaces only its own parameter: others (a file's name) stay generated.
                known = st.tuples(strategy, st.sampled_from(ids)).map(lambda pair, name=name: _with(name, *pair))
                return st.one_of(known, strategy)
        return strategy

    return schema


def _with(name: str, generated, value):
    """The generated path parameters (a dict, or schemathesis' wrapper of one) with `name` set to `value`."""
    def merge(params):
        return {**params, name: value} if isinstance(params, dict) else params

    return merge(generated) if isinstance(generated, dict) else generated.map_value(merge)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@FUZZ
def test_every_operation_conforms_to_the_schema(case, front_end):
    response = front_end.call(case)
    case.validate_response(response, checks=CHECKS)


def test_linked_operations_in_sequence(api_schema, front_end):
    """Stateful: chains of calls along the links Schemathesis finds (an id from one response into the next)."""
    machine = api_schema.as_state_machine()

    class Workflow(machine):
        def call(self, case, **kwargs):
            return front_end.call(case)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=settings(max_examples=EXAMPLES, stateful_step_count=6, deadline=None, database=None,
                                   derandomize=True, suppress_health_check=list(HealthCheck)))
