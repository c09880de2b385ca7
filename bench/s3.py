"""The S3 side of the benchmarks and of the fileshare tests: moto's bucket, and a direct-upload client (here,
not under tests/, because bench/ imports nothing from tests/)."""

import http.client
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import boto3

BUCKET = "agepar-compartilhados"


def s3_env(endpoint: str) -> dict:
    return {"FILESHARE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_REGION_NAME": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def objects(client) -> list[str]:
    return [obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def multipart_uploads(client) -> list[str]:
    return [upload["Key"] for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


def put(url: str, body, headers: dict | None = None) -> tuple[int, str | None, bytes]:
    """One PUT of `body` (bytes-like, sent without a copy) to a presigned URL: (status, ETag, response body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    try:
        conn.request("PUT", f"{parts.path}?{parts.query}", body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("ETag"), response.read()
    finally:
        conn.close()


def send_parts(started: dict, body, *, concurrency: int = 4) -> list[dict]:
    """What a client does with the answer of POST /api/fileshare/uploads: PUT each part (the single PUT
    is part 1), `concurrency` at a time, with the headers given; returns the `parts` for `complete`."""
    view = memoryview(body)

    def send(part: dict) -> dict:
        start = (part["number"] - 1) * started["part_size"]
        status, etag, text = put(part["url"], view[start:start + part["size"]], part["headers"])
        assert status == 200, (status, text[:300])
        return {"number": part["number"], "etag": etag}

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(send, started["parts"]))
