"""File storage: every file the system keeps goes through here, by key.

Keys, not paths, are what the database stores (``declarations/ab12….pdf``,
``certificate_jobs/job-7-….pdf``). Two backends, chosen by ``STORAGE_URL``:

- ``file:///srv/backoffice/files`` — a directory (the default is ``UPLOAD_DIR``, so
  keys stored before this module existed keep working). In production a shared mount
  (NFS, a cloud file system) seen by every app and worker machine.
- ``s3://bucket/optional/prefix?endpoint=http://minio:9000&region=cn-north-1`` —
  S3-compatible object storage through boto3 (AWS S3, MinIO, a government cloud's OSS).
  Credentials come from the usual boto3 sources (``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY``, an instance role); they never go in the URL.

The interface (``get()`` returns the application's backend)::

    storage.put(key, stream_or_bytes)   # atomic: readers see the old file or the new one
    storage.open(key)                   # a binary file object (close it; ``with`` works)
    storage.read(key) -> bytes
    storage.delete(key)                 # no error when missing
    storage.exists(key)
    storage.url(key, expires=300)       # a direct, expiring link (S3) or None (directory)
    storage.list(prefix)                # (key, modified datetime) pairs, for clean-up

``send(key, ...)`` builds the download response; call it only after the row naming the
key was fetched through the permission layer. ``FileMissing`` when the key is absent.
"""

import builtins
import io
import os
import re
import secrets
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

EXTENSION_KEY = "backoffice_storage"
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class FileMissing(FileNotFoundError):
    pass


def check_key(key):
    """Keys are relative, '/'-separated names of safe characters: never a path escape."""
    if not isinstance(key, str) or len(key) > 300 or not KEY_RE.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def new_key(prefix, suffix=""):
    """A fresh unguessable key under ``prefix`` (``declarations/3f…e1.pdf``)."""
    return check_key(f"{prefix.strip('/')}/{secrets.token_hex(16)}{suffix}")


def _as_stream(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data))
    if isinstance(data, str):
        return io.BytesIO(data.encode("utf-8"))
    return data


class DirectoryStorage:
    """Files under one root directory (a local disk or a shared mount)."""

    kind = "file"

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key):
        return self.root / check_key(key)

    def put(self, key, data):
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(_as_stream(data), out, 1024 * 1024)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def open(self, key):
        try:
            return builtins.open(self.path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileMissing(key) from None

    def read(self, key):
        with self.open(key) as f:
            return f.read()

    def delete(self, key):
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            pass

    def exists(self, key):
        return self.path(key).is_file()

    def url(self, key, expires=300):
        return None

    def list(self, prefix=""):
        base = self.root / check_key(prefix.strip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".part-"):
                yield path.relative_to(self.root).as_posix(), datetime.fromtimestamp(path.stat().st_mtime)

    def ping(self):
        return self.root.is_dir() and os.access(self.root, os.W_OK)


class S3Storage:
    """Objects in one bucket (optionally under a prefix) of an S3-compatible service."""

    kind = "s3"

    def __init__(self, bucket, prefix="", endpoint_url=None, region=None, client=None):
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"},
                              s3={"addressing_style": "path"} if endpoint_url else None),
        )

    def _name(self, key):
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _missing(self, exc):
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, key, data):
        self.client.upload_fileobj(_as_stream(data), self.bucket, self._name(key))
        return key

    def open(self, key):
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise FileMissing(key) from None
            raise

    def read(self, key):
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key):
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
            return True
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise

    def url(self, key, expires=300):
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._name(key)}, ExpiresIn=expires)

    def list(self, prefix=""):
        start = self._name(prefix.strip("/")) if prefix.strip("/") else self.prefix
        cut = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=(start + "/") if start else ""):
            for item in page.get("Contents", ()):
                modified = item["LastModified"]
                if modified.tzinfo is not None:  # S3 answers in UTC; the app keeps local naive times
                    modified = modified.astimezone().replace(tzinfo=None)
                yield item["Key"][cut:], modified

    def ping(self):
        self.client.head_bucket(Bucket=self.bucket)
        return True


def from_url(url, default_root=None):
    """The backend named by ``STORAGE_URL`` (a directory when empty)."""
    if not url:
        return DirectoryStorage(default_root)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return DirectoryStorage(unquote(parsed.netloc + parsed.path))
    if parsed.scheme == "s3":
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return S3Storage(parsed.netloc, unquote(parsed.path), endpoint_url=query.get("endpoint"),
                         region=query.get("region"))
    if "://" not in url:
        return DirectoryStorage(url)
    raise ValueError(f"STORAGE_URL must start with file:// or s3:// (got {parsed.scheme}://)")


def init_app(app):
    backend = from_url(app.config.get("STORAGE_URL"), default_root=app.config["UPLOAD_DIR"])
    app.extensions[EXTENSION_KEY] = backend
    return backend


def get(app=None):
    from flask import current_app

    return (app or current_app).extensions[EXTENSION_KEY]


# Module-level shortcuts on the current application's backend.
def put(key, data):
    return get().put(key, data)


def open(key):  # storage.open(key), like the backends (shadows the builtin here only)
    return get().open(key)


def read(key):
    return get().read(key)


def delete(key):
    return get().delete(key)


def exists(key):
    return get().exists(key)


def url(key, expires=300):
    return get().url(key, expires)


def send(key, *, mimetype=None, download_name=None, as_attachment=True):
    """A download response for ``key`` (404 when missing). Only after a scoped lookup."""
    from flask import abort, send_file

    try:
        stream = get().open(key)
    except (FileMissing, ValueError):
        abort(404)
    response = send_file(stream, mimetype=mimetype or "application/octet-stream", as_attachment=as_attachment,
                         download_name=download_name or key.rsplit("/", 1)[-1])
    response.headers["Cache-Control"] = "private, no-store"
    return response
