"""Deployment packages: zips kept by content, unpacked once for the runtime.

A zip is stored once, under `<data_dir>/lambda/code/<sha256 hex>.zip`, however many functions,
versions or layers use it; `GetFunction`'s `Code.Location` downloads it from there.

The runtime needs the package unpacked. Function code is unpacked once per (function, package):
as root the runtime hands each function's code directory to that function's own uid, so two
functions deploying the same zip must not share a directory. Versions of one function with the
same code do share it. Layers are unpacked once per package, readable by every function.
Directories live where the runtime expects code (`<data_dir>/functions/`, mode 0711) under
names derived from a secret kept in the store, so they are stable across restarts (nothing is
unpacked twice) yet unguessable for other functions. A directory is filled under a temporary
name and renamed into place, so one that exists is complete.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass

from cloudlet.services.awslambda.errors import invalid_parameter, too_large

#: the largest zip accepted in a request body (AWS counts the base64-encoded request)
MAX_REQUEST_BYTES = 69905067
#: the unzipped size limit of a function with all its layers
MAX_UNZIPPED_BYTES = 262144000
_BAD_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass(frozen=True, slots=True)
class Package:
    """A stored zip: `sha` names the file, `code_sha256` is how AWS reports it (base64)."""

    sha: str
    code_sha256: str
    size: int
    unzipped: int


def inspect_zip(data: bytes, operation: str) -> Package:
    """Check a zip as AWS does before accepting it; blocking (hashes the bytes)."""
    if (len(data) + 2) // 3 * 4 > MAX_REQUEST_BYTES:
        raise too_large(
            f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the {operation} operation"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise invalid_parameter(_BAD_ZIP) from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise invalid_parameter(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    digest = hashlib.sha256(data).digest()
    return Package(digest.hex(), base64.b64encode(digest).decode(), len(data), unzipped)


class CodeStore:
    """Where zips and unpacked directories live, and the one place that touches them."""

    def __init__(self, data_dir: str, secret: bytes) -> None:
        self.data_dir = os.path.realpath(data_dir)
        self.zip_dir = os.path.join(self.data_dir, "lambda", "code")
        self.functions_dir = os.path.join(self.data_dir, "functions")
        self.secret = secret
        self._ready: set[str] = set()
        self._unpacking: dict[str, asyncio.Future[str]] = {}

    # -- zips ------------------------------------------------------------------------------------
    async def save(self, data: bytes, operation: str) -> Package:
        """Validate and store a zip (in a thread: hashing 50 MB takes a while)."""
        return await asyncio.to_thread(self._save, data, operation)

    def _save(self, data: bytes, operation: str) -> Package:
        package = inspect_zip(data, operation)
        path = self.zip_path(package.sha)
        if not os.path.exists(path):
            os.makedirs(self.zip_dir, exist_ok=True)
            partial = f"{path}.{os.urandom(4).hex()}.part"
            with open(partial, "wb") as out:
                out.write(data)
            os.replace(partial, path)
        return package

    def zip_path(self, sha: str) -> str:
        return os.path.join(self.zip_dir, f"{sha}.zip")

    def remove_zip(self, sha: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.zip_path(sha))

    # -- unpacked directories --------------------------------------------------------------------
    def dir_for(self, owner: str, sha: str) -> str:
        """The directory a package is unpacked to for `owner` (a function ARN, or "layer")."""
        name = hmac.new(self.secret, f"{owner}\n{sha}".encode(), hashlib.sha256).hexdigest()[:32]
        return os.path.join(self.functions_dir, name)

    def ready(self, owner: str, sha: str) -> str | None:
        """The directory if the package is already unpacked (no I/O once seen)."""
        path = self.dir_for(owner, sha)
        if path in self._ready:
            return path
        if os.path.isdir(path):
            self._ready.add(path)
            return path
        return None

    async def unpack(self, owner: str, sha: str) -> str:
        """The unpacked directory, unpacking it first if needed; concurrent callers share one
        unpack."""
        path = self.ready(owner, sha)
        if path is not None:
            return path
        path = self.dir_for(owner, sha)
        running = self._unpacking.get(path)
        if running is None:
            running = asyncio.ensure_future(
                asyncio.to_thread(self._unpack, sha, path, owner == "layer")
            )
            self._unpacking[path] = running
            running.add_done_callback(lambda _: self._unpacking.pop(path, None))
        await asyncio.shield(running)
        self._ready.add(path)
        return path

    def _unpack(self, sha: str, path: str, public: bool) -> str:
        if os.path.isdir(path):
            return path
        os.makedirs(self.functions_dir, exist_ok=True)
        os.chmod(self.functions_dir, 0o711)
        partial = f"{path}.{os.urandom(4).hex()}.part"
        os.mkdir(partial, 0o755 if public else 0o700)
        try:
            extract(self.zip_path(sha), partial)
            os.chmod(partial, 0o755 if public else 0o700)
            os.rename(partial, path)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            if os.path.isdir(path):  # another process unpacked it first
                return path
            raise
        return path

    def remove_dir(self, owner: str, sha: str) -> None:
        path = self.dir_for(owner, sha)
        self._ready.discard(path)
        shutil.rmtree(path, ignore_errors=True)

    def forget(self) -> None:
        """Drop what is known about directories (after a reset wiped the secret)."""
        self._ready.clear()


def extract(zip_path: str, target: str) -> None:
    """Unpack a zip keeping executable bits and in-tree symlinks; entries that would land outside
    `target` (absolute paths, `..`) are skipped, as Lambda never writes outside /var/task."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
            if not parts or ".." in parts:
                continue
            dest = os.path.join(target, *parts)
            if info.is_dir():
                os.makedirs(dest, mode=0o755, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                _symlink(archive.read(info).decode("utf-8", "replace"), dest, target)
                continue
            with archive.open(info) as source, open(dest, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            os.chmod(dest, 0o755 if mode & 0o111 else 0o644)


def _symlink(link: str, dest: str, root: str) -> None:
    resolved = os.path.normpath(os.path.join(os.path.dirname(dest), link))
    if os.path.isabs(link) or not (resolved == root or resolved.startswith(root + os.sep)):
        return
    with contextlib.suppress(OSError):
        os.symlink(link, dest)


def _read_zip(data_dir: str, sha: str) -> bytes | None:
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        return None
    try:
        with open(os.path.join(data_dir, "lambda", "code", f"{sha}.zip"), "rb") as fh:
            return fh.read()
    except OSError:
        return None


async def download(data_dir: str, sha: str) -> bytes | None:
    """The zip behind a `Code.Location` / layer `Content.Location` URL (read in a thread), or
    None. Served by edge/internal.py at `GET /_cloudlet/lambda/code/<sha256 hex>`."""
    return await asyncio.to_thread(_read_zip, os.path.realpath(data_dir), sha)
