"""Object checksums as current SDKs send them: CRC32 (botocore's default), CRC32C, SHA1, SHA256.

A checksum arrives as a header (`x-amz-checksum-crc32`), as a trailer after an `aws-chunked`
body (named by `x-amz-trailer`), or only as an algorithm (`x-amz-sdk-checksum-algorithm`), when
S3 computes it. It is verified against the bytes received (BadDigest on mismatch), stored with
the object and returned by GetObject/HeadObject with `ChecksumMode=ENABLED`.

Multipart objects carry either a COMPOSITE checksum (the checksum of the parts' checksums,
suffixed `-N`) or, for the CRCs, a FULL_OBJECT one, combined from the parts' CRCs without reading
the data again (zlib's crc32_combine, for either polynomial). CRC64NVME values are stored and
returned as sent, but not verified: no small package computes it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from typing import Any, Protocol

import crc32c as _crc32c

from cloudlet.protocols.errors import AwsError

#: algorithms cloudlet computes and verifies
VERIFIED = ("CRC32", "CRC32C", "SHA1", "SHA256")
#: every algorithm whose value cloudlet keeps with an object
KNOWN = (*VERIFIED, "CRC64NVME")
_SIZES = {"CRC32": 4, "CRC32C": 4, "SHA1": 20, "SHA256": 32, "CRC64NVME": 8}
_POLYNOMIALS = {"CRC32": 0xEDB88320, "CRC32C": 0x82F63B78}


def member(algorithm: str) -> str:
    """The model member carrying an algorithm's value: ChecksumCRC32 ..."""
    return "Checksum" + algorithm


def header(algorithm: str) -> str:
    return "x-amz-checksum-" + algorithm.lower()


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


class _Crc:
    __slots__ = ("_fn", "value")

    def __init__(self, fn: Any) -> None:
        self._fn = fn
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = self._fn(data, self.value)

    def digest(self) -> bytes:
        return (self.value & 0xFFFFFFFF).to_bytes(4, "big")


def hasher(algorithm: str) -> Hasher:
    if algorithm == "CRC32":
        return _Crc(zlib.crc32)
    if algorithm == "CRC32C":
        return _Crc(_crc32c.crc32c)
    if algorithm == "SHA1":
        return hashlib.sha1()
    return hashlib.sha256()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def invalid_value(algorithm: str) -> AwsError:
    return AwsError(
        "InvalidRequest", f"Value for {header(algorithm)} header is invalid.", status=400
    )


def mismatch(algorithm: str) -> AwsError:
    return AwsError(
        "BadDigest",
        f"The {algorithm} you specified did not match the calculated checksum.",
        status=400,
    )


def check_value(algorithm: str, value: str) -> None:
    """A sent value must be base64 of the algorithm's digest size."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_value(algorithm) from None
    if len(raw) != _SIZES[algorithm]:
        raise invalid_value(algorithm)


def requested(params: dict[str, Any], headers: dict[str, str]) -> tuple[str | None, str | None]:
    """(algorithm, value sent up front) of a request; the value is None when it comes in a
    trailer or S3 is to compute it. Several values at once are refused as AWS refuses them."""
    sent = [(alg, params[member(alg)]) for alg in KNOWN if params.get(member(alg))]
    if len(sent) > 1:
        raise AwsError("InvalidRequest", "Expecting a single x-amz-checksum- header", status=400)
    if sent:
        algorithm, value = sent[0]
        check_value(algorithm, value)
        return algorithm, value
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if trailer.startswith("x-amz-checksum-"):
        algorithm = trailer[len("x-amz-checksum-") :].upper()
        if algorithm not in KNOWN:
            raise invalid_request_trailer(trailer)
        return algorithm, None
    algorithm = params.get("ChecksumAlgorithm")
    return (algorithm.upper() if algorithm else None), None


def invalid_request_trailer(trailer: str) -> AwsError:
    return AwsError(
        "InvalidRequest",
        f"The value specified in the x-amz-trailer header is not supported: {trailer}",
        status=400,
    )


def response_members(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The output members of a stored checksum: ChecksumCRC32 and ChecksumType."""
    if not stored:
        return {}
    return {member(stored["alg"]): stored["value"], "ChecksumType": stored["type"]}


# -- multipart ----------------------------------------------------------------------------------


def composite(algorithm: str, part_values: list[str]) -> str:
    """The COMPOSITE checksum: the algorithm over the parts' raw checksums, then `-N`."""
    h = hasher(algorithm)
    for value in part_values:
        h.update(base64.b64decode(value))
    return f"{b64(h.digest())}-{len(part_values)}"


def full_object_crc(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """The FULL_OBJECT CRC of concatenated parts, from (part value, part size) pairs."""
    poly = _POLYNOMIALS[algorithm]
    crc = 0
    for value, size in parts:
        crc = crc_combine(poly, crc, int.from_bytes(base64.b64decode(value), "big"), size)
    return b64(crc.to_bytes(4, "big"))


def _times(matrix: list[int], vector: int) -> int:
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, row) for row in matrix]


def crc_combine(poly: int, crc1: int, crc2: int, len2: int) -> int:
    """The CRC of A+B from crc(A), crc(B) and len(B): zlib's crc32_combine, in GF(2)."""
    if len2 <= 0:
        return crc1
    odd = [poly] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _square(odd)  # two zero bits
    odd = _square(even)  # four zero bits
    while True:
        even = _square(odd)  # applies len2's lowest remaining bit, in bytes
        if len2 & 1:
            crc1 = _times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _square(even)
        if len2 & 1:
            crc1 = _times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2
