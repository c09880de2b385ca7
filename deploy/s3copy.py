#!/usr/bin/env python3
"""The off-site copies of deploy/backup.sh in an S3-compatible bucket (AWS, MinIO, Ceph...).

    deploy/s3copy.py put FILE NAME        # upload FILE as PREFIX/NAME
    deploy/s3copy.py get NAME OUT         # download PREFIX/NAME to OUT (- for stdout)
    deploy/s3copy.py latest               # print the NAME of the newest backup copy
    deploy/s3copy.py prune [--days N]     # delete copies older than N days (BACKUP_S3_RETENTION_DAYS, 30)

Names are agepar-YYYYmmddTHHMMSSZ.tar.age (what backup.sh uploads); `latest` and `prune` look at
those only, by the time in the name (not the object's LastModified, which a bucket copy or
replication resets), and `prune` always keeps the newest copy, whatever its age. Other objects
under the prefix are left alone. Environment (NAME_FILE works for each):
  BACKUP_S3_BUCKET (required), BACKUP_S3_PREFIX (default backups/),
  BACKUP_S3_ENDPOINT_URL (default AWS_S3_ENDPOINT_URL; empty = AWS), BACKUP_S3_REGION
  (default AWS_S3_REGION_NAME), BACKUP_S3_ACCESS_KEY_ID / BACKUP_S3_SECRET_ACCESS_KEY (default
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; give the backups credentials of their own).
Needs boto3 (a dependency of the application) only.
"""

import argparse
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

NAME = re.compile(r"^agepar-(\d{8}T\d{6}Z)\.tar\.age$")


def setting(*names: str, default: str = "") -> str:
    """The first non-empty of NAME / NAME_FILE for each name given (as deploy/lib.sh's from_env)."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
        if os.environ.get(f"{name}_FILE"):
            return Path(os.environ[f"{name}_FILE"]).read_text().strip()
    return default


def prefix() -> str:
    value = setting("BACKUP_S3_PREFIX", default="backups/").strip("/")
    return f"{value}/" if value else ""


def client():
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=setting("BACKUP_S3_ENDPOINT_URL", "AWS_S3_ENDPOINT_URL") or None,
        region_name=setting("BACKUP_S3_REGION", "AWS_S3_REGION_NAME") or None,
        aws_access_key_id=setting("BACKUP_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=setting("BACKUP_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY") or None,
        # S3-compatible servers reject boto3's default CRC checksums (as agepar/settings.py says).
        config=Config(request_checksum_calculation="when_required", response_checksum_validation="when_required"))


def copies(s3, bucket: str) -> list[tuple[datetime, str]]:
    """(time in the name, NAME) of every backup copy under the prefix, oldest first."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix()):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(prefix()):]
            if match := NAME.match(name):
                found.append((datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC), name))
    return sorted(found)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deploy/s3copy.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    put = commands.add_parser("put", help="upload FILE as PREFIX/NAME")
    put.add_argument("file")
    put.add_argument("name")
    get = commands.add_parser("get", help="download PREFIX/NAME to OUT (- for stdout)")
    get.add_argument("name")
    get.add_argument("out")
    commands.add_parser("latest", help="print the name of the newest backup copy")
    prune = commands.add_parser("prune", help="delete backup copies older than --days")
    prune.add_argument("--days", type=int, default=None)
    args = parser.parse_args(argv)

    bucket = setting("BACKUP_S3_BUCKET")
    if not bucket:
        parser.error("BACKUP_S3_BUCKET is not set")
    s3 = client()
    if args.command == "put":
        if not NAME.match(args.name):
            parser.error(f"{args.name!r} is not a backup name (agepar-YYYYmmddTHHMMSSZ.tar.age)")
        s3.upload_file(args.file, bucket, prefix() + args.name)
    elif args.command == "get":
        if args.out == "-":  # streamed in order (s3transfer buffers the parts for a pipe)
            s3.download_fileobj(bucket, prefix() + args.name, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            s3.download_file(bucket, prefix() + args.name, args.out)
    elif args.command == "latest":
        found = copies(s3, bucket)
        if not found:
            print(f"s3copy: no backup copy under s3://{bucket}/{prefix()}", file=sys.stderr)
            return 1
        print(found[-1][1])
    else:
        days = args.days if args.days is not None else int(setting("BACKUP_S3_RETENTION_DAYS", default="30"))
        if days < 1:
            parser.error("the retention must be at least 1 day")
        cutoff = datetime.now(UTC) - timedelta(days=days)
        for stamp, name in copies(s3, bucket)[:-1]:  # the newest stays, however old
            if stamp < cutoff:
                s3.delete_object(Bucket=bucket, Key=prefix() + name)
                print(f"s3copy: deleted {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
