"""Object data on disk, under `<data dir>/s3/`, streamed in and out, never whole in memory.

Each stored body (an object version, or a part of a multipart upload) is one immutable file,
`blobs/<2 hex>/<blob id>`. A body is written to `tmp/<blob id>` while it arrives (hashing as it
goes), and renamed into `blobs/` only once it is complete and its checksums held; the document
that makes it visible commits after that. So a crash can leave an orphan file, never a half
object: `tmp/` is emptied at start-up.

A multipart object keeps its parts' files as its segments (completing an upload copies no data);
CopyObject hard-links the source's files (copying no data either), so deleting one name never
affects another. Hashing (MD5 for the ETag, plus the request's checksum) and writing run on a
worker thread per large chunk — hashlib and os.write release the GIL — while the event loop
receives the next chunk; the two run in parallel with each other (MD5 and page-cache writes each
top out near 400-500 MB/s on this machine kind, so doing them one after the other would halve
PUT throughput).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cloudlet.protocols.streams import FileBody, Segment
from cloudlet.services.s3 import checksums

_INLINE = 256 * 1024  # smaller chunks are hashed and written on the loop: a thread hop costs more


@dataclass(slots=True)
class Written:
    """A body received into tmp/, not yet kept."""

    blob: str
    size: int
    md5: str  # hex
    algorithm: str | None
    checksum: str | None  # base64 of the computed checksum, when the algorithm is verified


def _hash(chunk: bytes, md5: Any, extra: checksums.Hasher | None) -> None:
    md5.update(chunk)
    if extra is not None:
        extra.update(chunk)


def _write(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view) :]


def _absorb(fd: int, chunk: bytes, md5: Any, extra: checksums.Hasher | None) -> None:
    _hash(chunk, md5, extra)
    _write(fd, chunk)


class BlobStore:
    def __init__(self, data_dir: str) -> None:
        self.root = os.path.join(data_dir, "s3")
        self.tmp = os.path.join(self.root, "tmp")
        self.blobs = os.path.join(self.root, "blobs")
        shutil.rmtree(self.tmp, ignore_errors=True)  # bodies a crash interrupted
        os.makedirs(self.tmp, exist_ok=True)
        os.makedirs(self.blobs, exist_ok=True)
        self._pool: ThreadPoolExecutor | None = None

    def path(self, blob: str) -> str:
        return os.path.join(self.blobs, blob[:2], blob)

    def body(self, blobs: list[list]) -> FileBody:
        """The files of an object as one response body."""
        return FileBody([(self.path(b), 0, size) for b, size in blobs])

    def segments(self, blobs: list[list], start: int, length: int) -> list[Segment]:
        """The pieces of files holding bytes [start, start+length) of an object."""
        out: list[Segment] = []
        offset = 0
        for blob, size in blobs:
            if length <= 0:
                break
            if start < offset + size:
                skip = max(start - offset, 0)
                take = min(size - skip, length)
                out.append((self.path(blob), skip, take))
                start += take
                length -= take
            offset += size
        return out

    async def write(self, chunks: AsyncIterable[bytes], algorithm: str | None) -> Written:
        """Receive a body into tmp/, computing its MD5 and `algorithm`'s checksum."""
        blob = uuid.uuid4().hex
        path = os.path.join(self.tmp, blob)
        md5 = hashlib.md5()
        extra = checksums.hasher(algorithm) if algorithm in checksums.VERIFIED else None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        size = 0
        pending: asyncio.Future[Any] | None = None
        loop = asyncio.get_running_loop()
        try:
            async for chunk in chunks:
                size += len(chunk)
                if pending is not None:
                    await pending
                    pending = None
                if len(chunk) < _INLINE:
                    _absorb(fd, chunk, md5, extra)
                else:  # hashing and writing in parallel, while the loop receives the next chunk
                    pool = self._executor()
                    pending = asyncio.gather(
                        loop.run_in_executor(pool, _hash, chunk, md5, extra),
                        loop.run_in_executor(pool, _write, fd, chunk),
                    )
            if pending is not None:
                await pending
        except BaseException:
            if pending is not None:
                with contextlib.suppress(BaseException):
                    await pending
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        computed = checksums.b64(extra.digest()) if extra is not None else None
        return Written(blob, size, md5.hexdigest(), algorithm, computed)

    def keep(self, written: Written) -> None:
        """Move a complete body into place (before the document naming it commits)."""
        final = self.path(written.blob)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.rename(os.path.join(self.tmp, written.blob), final)

    def discard(self, written: Written) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.tmp, written.blob))

    def link(self, blobs: list[list]) -> list[list]:
        """New names for the files of an object (a copy that shares the data)."""
        out: list[list] = []
        for blob, size in blobs:
            new = uuid.uuid4().hex
            target = self.path(new)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.link(self.path(blob), target)
            except OSError:  # a filesystem without hard links
                shutil.copyfile(self.path(blob), target)
            out.append([new, size])
        return out

    def remove(self, blobs: list[list]) -> None:
        """Delete files no document names any more (after that document's commit)."""
        for blob, _ in blobs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path(blob))

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cloudlet-s3")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
