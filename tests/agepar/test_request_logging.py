import logging

from agepar.logging import JsonFormatter, RedactSecretsFilter


def test_a_request_id_is_generated_and_echoed(anon_client):
    response = anon_client.get("/api/health")
    assert len(response["X-Request-ID"]) == 32


def test_a_safe_client_request_id_is_kept(anon_client):
    response = anon_client.get("/api/health", HTTP_X_REQUEST_ID="front-abc.123")
    assert response["X-Request-ID"] == "front-abc.123"


def test_an_unsafe_client_request_id_is_replaced(anon_client):
    response = anon_client.get("/api/health", HTTP_X_REQUEST_ID="bad id\r\nSet-Cookie: x")
    assert response["X-Request-ID"] != "bad id\r\nSet-Cookie: x"
    assert len(response["X-Request-ID"]) == 32


def test_one_access_line_per_request_with_its_fields(anon_client, caplog):
    with caplog.at_level(logging.INFO, logger="agepar.access"):
        response = anon_client.get("/api/health")
    [record] = [r for r in caplog.records if r.name == "agepar.access"]
    assert (record.method, record.path, record.status) == ("GET", "/api/health", 200)
    assert record.request_id == response["X-Request-ID"]
    assert record.duration_ms >= 0
    assert record.user_id is None


def test_access_line_names_the_signed_in_user(owner, owner_client, caplog):
    with caplog.at_level(logging.INFO, logger="agepar.access"):
        owner_client.get("/api/schema/")
    [record] = [r for r in caplog.records if r.name == "agepar.access"]
    assert record.user_id == owner.pk


def test_json_lines_redact_share_tokens():
    record = logging.LogRecord("agepar.access", logging.INFO, __file__, 1, "GET %s 410", ("/s/" + "A" * 43,), None)
    record.path = "/s/" + "A" * 43 + "/download"
    RedactSecretsFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "A" * 43 not in line
    assert "/s/<redacted>" in line
