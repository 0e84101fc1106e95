"""What rest-json and rest-xml share: routing by method + URI, and members bound to HTTP parts.

A REST operation is named by its HTTP method and `requestUri` template (`/{Bucket}/{Key+}?tagging`)
rather than by a header. `RouteTable` compiles every operation's template once per service and
answers a request in a few dictionary lookups: routes are indexed by method and first path segment,
tried most specific first, and operations sharing one path (S3 has 45 on `GET /{Bucket}`) are told
apart by the query literals of their URI (`?tagging`, `?list-type=2`), then by which of their
required query/header members the request carries (ListParts is GetObject plus `uploadId`).

Members travel in the URI path, the query string, single headers, prefixed header maps
(`x-amz-meta-*`), the status code, or the body; `Bindings` is that map for one structure,
compiled once. The body itself (JSON or XML) is the subclass's business.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson

from cloudlet.protocols import Codec, HttpRequest, HttpResponse, quirks
from cloudlet.protocols.errors import ParamValidationError, UnknownOperation
from cloudlet.protocols.model import Operation, ServiceModel, Shape
from cloudlet.protocols.streams import BytesStream, is_stream
from cloudlet.protocols.timestamps import format_timestamp, parse_timestamp

# -- routing -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Route:
    """One operation on a path pattern, with what tells it apart from its neighbours."""

    operation: Operation
    label_names: tuple[str, ...]  # label of each bound path value, in path order
    #: query literals of the URI: ?uploads -> ("uploads", None), ?list-type=2 -> ("list-type", "2")
    literals: tuple[tuple[str, str | None], ...]
    literal_keys: frozenset[str]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    known_query: frozenset[str]
    deprecated: bool
    order: int

    def literals_match(self, query: dict[str, str]) -> bool:
        for key, value in self.literals:
            got = query.get(key)
            if got is None or (value is not None and got != value):
                return False
        return True

    def score(self, query: dict[str, str], headers: dict[str, str]) -> tuple:
        """Higher is a better fit: more URI literals, then required members present, then members known."""
        present = sum(1 for k in self.required_query if k in query)
        present += sum(1 for h in self.required_headers if h in headers)
        complete = present == len(self.required_query) + len(self.required_headers)
        known = sum(1 for k in query if k in self.known_query)
        return (len(self.literals), complete, present, known, not self.deprecated, -self.order)


class _PathPattern:
    """A path template shape (`/2015-03-31/functions/{}/invocations`) and the routes sharing it."""

    __slots__ = ("by_literal", "greedy", "plain", "rank", "routes", "segments", "size")

    def __init__(self, segments: tuple[str | None, ...], greedy: bool) -> None:
        self.segments = segments  # literal text, or None for a label
        self.greedy = greedy  # a trailing {Name+} label takes the rest of the path
        self.size = len(segments)
        self.routes: list[_Route] = []
        self.plain: list[_Route] = []  # routes without query literals
        self.by_literal: dict[str, list[_Route]] = {}  # first query literal -> routes
        # Literal segments sort before labels, labels before a greedy tail: most specific first.
        self.rank = (*(0 if s is not None else 1 for s in segments), 2 if greedy else 3)

    def add(self, route: _Route) -> None:
        self.routes.append(route)
        if route.literals:
            self.by_literal.setdefault(route.literals[0][0], []).append(route)
        else:
            self.plain.append(route)

    def bind(self, segs: list[str]) -> list[str] | None:
        """The raw (still percent-encoded) label values if the path fits, else None."""
        n = self.size
        count = len(segs)
        if self.greedy:
            if count <= n:
                return None
        elif count != n and not (count == n + 1 and segs[n] == ""):  # tolerate a trailing slash
            return None
        values: list[str] = []
        for i, literal in enumerate(self.segments):
            seg = segs[i]
            if literal is None:
                if not seg:
                    return None  # labels are never empty
                values.append(seg)
            elif seg != literal:
                return None
        if self.greedy:
            rest = "/".join(segs[n:])
            if not rest:
                return None
            values.append(rest)
        return values

    def choose(self, query: dict[str, str], headers: dict[str, str]) -> _Route | None:
        routes = self.routes
        if len(routes) == 1 and not routes[0].literals:
            return routes[0]
        candidates = list(self.plain)
        for key in query:
            for route in self.by_literal.get(key, ()):
                if route.literals_match(query):
                    candidates.append(route)
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        return max(candidates, key=lambda r: r.score(query, headers))


def _template(path: str) -> tuple[tuple[str | None, ...], bool, tuple[str, ...]]:
    """Split a requestUri path into segments (None for labels), greedy flag and label names."""
    parts = path[1:].split("/") if path.startswith("/") else path.split("/")
    if parts and parts[-1] == "":
        parts.pop()  # "/2015-03-31/functions/" matches with or without the slash
    segments: list[str | None] = []
    names: list[str] = []
    greedy = False
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if name.endswith("+"):
                if i != len(parts) - 1:
                    raise ValueError(f"greedy label not last in {path!r}")
                greedy = True
                names.append(name[:-1])
                continue
            segments.append(None)
            names.append(name)
        else:
            segments.append(part)
    return tuple(segments), greedy, tuple(names)


def _query_literals(query: str) -> tuple[tuple[str, str | None], ...]:
    out: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if part:
            key, eq, value = part.partition("=")
            out.append((key, value if eq else None))
    return tuple(out)


class RouteTable:
    """Every operation of a service by HTTP method and URI, compiled once."""

    def __init__(self, model: ServiceModel) -> None:
        patterns: dict[tuple[str, tuple[str | None, ...], bool], _PathPattern] = {}
        for order, name in enumerate(model.operation_names):
            operation = model.operation(name)
            path, _, query = operation.request_uri.partition("?")
            segments, greedy, label_names = _template(path)
            key = (operation.http_method, segments, greedy)
            pattern = patterns.get(key)
            if pattern is None:
                pattern = patterns[key] = _PathPattern(segments, greedy)
            pattern.add(_compile_route(operation, label_names, _query_literals(query), order))
        self._index: dict[tuple[str, str | None], list[_PathPattern]] = {}
        for (method, segments, _), pattern in patterns.items():
            first = segments[0] if segments else ("" if not pattern.greedy else None)
            self._index.setdefault((method, first), []).append(pattern)
        for candidates in self._index.values():
            candidates.sort(key=lambda p: p.rank)

    def match(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[_Route, dict[str, str]]:
        """The route a request calls and its decoded URI labels; UnknownOperation if none fits."""
        segs = path[1:].split("/") if path.startswith("/") else path.split("/")
        for key in ((method, segs[0]), (method, None)):
            for pattern in self._index.get(key, ()):
                values = pattern.bind(segs)
                if values is None:
                    continue
                route = pattern.choose(query, headers)
                if route is not None:
                    return route, {
                        label: unquote(raw)
                        for label, raw in zip(route.label_names, values, strict=True)
                    }
        raise UnknownOperation(f"No operation matches {method} {path}")


def _compile_route(
    operation: Operation,
    label_names: tuple[str, ...],
    literals: tuple[tuple[str, str | None], ...],
    order: int,
) -> _Route:
    required_query: list[str] = []
    required_headers: list[str] = []
    known_query: set[str] = set()
    shape = operation.input
    if shape is not None:
        required = shape.required
        for name, member in shape.members.items():
            location = member.location
            wire = member.location_name or name
            if location == "querystring" and member.type != "map":
                known_query.add(wire)
                if name in required:
                    required_query.append(wire)
            elif location == "header" and name in required:
                required_headers.append(wire.lower())
    return _Route(
        operation=operation,
        label_names=label_names,
        literals=literals,
        literal_keys=frozenset(k for k, _ in literals),
        required_query=tuple(required_query),
        required_headers=tuple(required_headers),
        known_query=frozenset(known_query),
        deprecated=bool(operation.raw.get("deprecated")),
        order=order,
    )


# -- member bindings ---------------------------------------------------------------------------

_BODY, _HEADER, _HEADERS, _STATUS, _PAYLOAD, _URI, _QUERY = range(7)
_RAW_PAYLOAD_TYPES = frozenset(("blob", "string"))


@dataclass(slots=True)
class Bindings:
    """Where each member of one structure travels in an HTTP message."""

    shape: Shape
    uri: dict[str, tuple[str, Shape]]  # label -> (member, shape)
    query: dict[str, tuple[str, Shape]]  # query key -> (member, shape)
    query_map: tuple[str, Shape] | None  # a map member that takes the remaining query keys
    headers: dict[str, tuple[str, Shape]]  # lower-case header name -> (member, shape)
    header_maps: tuple[tuple[str, str], ...]  # (lower-case prefix, member), e.g. x-amz-meta-
    payload: tuple[str, Shape] | None
    raw_payload: bool  # the payload is a blob/string carried as the whole body
    streaming: (
        bool  # ... and `streaming`: it travels as an async chunk iterator (protocols.streams)
    )
    has_body: bool  # members without a location travel in a JSON/XML body
    located: frozenset[str]  # members bound outside the body
    out: dict[str, tuple[int, str, Shape]]  # member -> (location, wire name as modeled, shape)
    content_type: str | None  # the header a Content-Type member writes (it then owns the header)


def compile_bindings(shape: Shape, streamed: bool = False) -> Bindings:
    """`streamed`: the provider takes a `streaming` payload as an async chunk iterator."""
    uri: dict[str, tuple[str, Shape]] = {}
    query: dict[str, tuple[str, Shape]] = {}
    headers: dict[str, tuple[str, Shape]] = {}
    header_maps: list[tuple[str, str]] = []
    out: dict[str, tuple[int, str, Shape]] = {}
    query_map: tuple[str, Shape] | None = None
    content_type = None
    payload_name = shape.payload_member
    has_body = False
    for name, member in shape.members.items():
        location = member.location
        wire = member.location_name or name
        if location == "uri":
            uri[wire] = (name, member)
            out[name] = (_URI, wire, member)
        elif location == "querystring":
            if member.type == "map":
                query_map = (name, member)
            else:
                query[wire] = (name, member)
            out[name] = (_QUERY, wire, member)
        elif location == "header":
            headers[wire.lower()] = (name, member)
            out[name] = (_HEADER, wire, member)
            if wire.lower() == "content-type":
                content_type = wire
        elif location == "headers":
            header_maps.append((wire.lower(), name))
            out[name] = (_HEADERS, wire, member)
        elif location == "statusCode":
            out[name] = (_STATUS, name, member)
        elif name == payload_name:
            out[name] = (_PAYLOAD, wire, member)
        elif payload_name is None:
            has_body = True
            out[name] = (_BODY, wire, member)
    payload = (payload_name, shape.members[payload_name]) if payload_name else None
    return Bindings(
        shape=shape,
        uri=uri,
        query=query,
        query_map=query_map,
        headers=headers,
        header_maps=tuple(header_maps),
        payload=payload,
        raw_payload=payload is not None and payload[1].type in _RAW_PAYLOAD_TYPES,
        streaming=streamed
        and payload is not None
        and payload[1].type == "blob"
        and bool(payload[1].trait("streaming")),
        has_body=has_body,
        located=frozenset(n for n, (loc, _, _) in out.items() if loc not in (_BODY, _PAYLOAD)),
        out=out,
        content_type=content_type,
    )


# -- text values (URI, query string, headers) -----------------------------------------------------


def _invalid(shape: Shape, text: str) -> ParamValidationError:
    return ParamValidationError("invalid", f"Value '{text}' is not a valid {shape.type}")


def from_text(shape: Shape, text: str, *, header: bool = False) -> Any:
    """A member value from its text form in a URI label, query string or header."""
    kind = shape.type
    if kind == "string":
        if header and shape.trait("jsonvalue"):
            try:
                return orjson.loads(base64.b64decode(text))
            except (binascii.Error, ValueError):
                raise _invalid(shape, text) from None
        return text
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind == "boolean":
            lowered = text.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            raise ValueError(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise _invalid(shape, text) from None
    if kind == "list":
        member = shape.member
        return [from_text(member, item, header=header) for item in _split_list(member, text)]
    raise _invalid(shape, text)


def _split_list(member: Shape, text: str) -> list[str]:
    """Items of a comma-separated header list (RFC 7230), honouring "quoted, items"."""
    if '"' not in text:
        items = [item.strip() for item in text.split(",")]
        if member.type == "timestamp" and (member.timestamp_format or "rfc822") == "rfc822":
            # HTTP dates contain a comma themselves: "Tue, 02 Jan 2024 03:04:05 GMT".
            items = [f"{items[i]}, {items[i + 1]}" for i in range(0, len(items) - 1, 2)]
        return items
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            items.append("".join(chars))
            i = text.find(",", i)
            i = n if i < 0 else i + 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            items.append(text[i:end].strip())
            i = end + 1
    return items


def float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return str(float(value))


def to_header(shape: Shape, value: Any) -> str | None:
    """A member value as header text; None for an empty list (which is not sent at all)."""
    kind = shape.type
    if kind == "string":
        if shape.trait("jsonvalue"):
            return base64.b64encode(orjson.dumps(value)).decode()
        return str(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long"):
        return str(int(value))
    if kind in ("float", "double"):
        return float_text(value)
    if kind == "timestamp":
        return str(format_timestamp(value, shape.timestamp_format or "rfc822"))
    if kind == "blob":
        return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()
    if kind == "list":
        if not value:
            return None
        member = shape.member
        texts = [to_header(member, v) or "" for v in value if v is not None]
        if member.type == "string":
            texts = [_quote_item(t) for t in texts]
        return ",".join(texts)
    return str(value)


def _quote_item(text: str) -> str:
    if '"' in text or "," in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def raw_body(value: Any) -> bytes:
    """A blob/string payload as body bytes."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


# -- the codec ---------------------------------------------------------------------------------


class RestCodec(Codec):
    """Routing and HTTP bindings for rest-json and rest-xml; subclasses own the body format."""

    #: Content-Type of a structured (JSON/XML) body
    body_content_type = ""

    def __init__(self, model: ServiceModel) -> None:
        super().__init__(model)
        self.routes = RouteTable(model)
        self._bindings: dict[str, Bindings] = {}
        self._streamed = model.name in quirks.STREAMED_PAYLOAD_SERVICES
        self._partial = {
            op: member
            for (service, op), member in quirks.PARTIAL_CONTENT_OUTPUTS.items()
            if service == model.name
        }

    def bindings(self, shape: Shape) -> Bindings:
        """The compiled bindings of a structure (keyed by shape name: they depend on its members only)."""
        found = self._bindings.get(shape.name)
        if found is None:
            found = self._bindings[shape.name] = compile_bindings(shape, self._streamed)
        return found

    # -- body hooks (subclasses) ---------------------------------------------------------------
    def decode_body(self, shape: Shape, body: bytes) -> dict[str, Any]:
        """The body members of `shape` from a structured body."""
        raise NotImplementedError

    def decode_payload(self, shape: Shape, body: bytes) -> Any:
        """A structure (or document) payload member from the body."""
        raise NotImplementedError

    def encode_body(
        self, operation: Operation, bindings: Bindings, values: dict[str, Any]
    ) -> bytes:
        """The structured body holding `values` (body members of the output shape)."""
        raise NotImplementedError

    def encode_payload(self, name: str, shape: Shape, value: Any) -> bytes:
        """A structure (or document) payload member as the body."""
        raise NotImplementedError

    def response_headers(self, request_id: str) -> dict[str, str]:
        return {"x-amzn-RequestId": request_id}

    # -- requests ------------------------------------------------------------------------------
    def streams_payload(self, request: HttpRequest) -> bool:
        query = dict(request.query_multi) if request.query else {}
        try:
            route, _ = self.routes.match(request.method, request.path, query, request.headers)
        except UnknownOperation:
            return False
        shape = route.operation.input
        return shape is not None and self.bindings(shape).streaming

    def parse(self, request: HttpRequest) -> tuple[Operation, dict[str, Any]]:
        pairs = request.query_multi if request.query else []
        query = dict(pairs)
        route, labels = self.routes.match(request.method, request.path, query, request.headers)
        operation = route.operation
        shape = operation.input
        if shape is None:
            return operation, {}
        b = self.bindings(shape)
        if b.streaming:  # always an async chunk iterator, read or not (protocols.streams)
            stream = request.stream if request.stream is not None else BytesStream(request.body)
            params: dict[str, Any] = {b.payload[0]: stream}  # type: ignore[index]
        else:
            params = self._parse_body(b, request.body)
        for label, value in labels.items():
            entry = b.uri.get(label)
            if entry is not None:
                params[entry[0]] = from_text(entry[1], value)
        if pairs and (b.query or b.query_map):
            _bind_query(b, pairs, route.literal_keys, params)
        if b.headers or b.header_maps:
            _bind_headers(b, request.headers, params)
        return operation, params

    def _parse_body(self, b: Bindings, body: bytes) -> dict[str, Any]:
        if b.payload is not None:
            name, shape = b.payload
            if not body:
                return {}
            if b.raw_payload:
                if shape.type == "blob":
                    return {name: body}
                try:
                    return {name: body.decode()}
                except UnicodeDecodeError:
                    raise ParamValidationError(
                        "malformed", "The request body is not valid UTF-8"
                    ) from None
            if body.isspace():
                return {}
            return {name: self.decode_payload(shape, body)}
        if not b.has_body or not body or body.isspace():
            return {}
        params = self.decode_body(b.shape, body)
        for name in b.located.intersection(params):
            del params[name]  # located members come from their location, never the body
        return params

    # -- responses -----------------------------------------------------------------------------
    def serialize(
        self, operation: Operation, result: dict[str, Any], request_id: str
    ) -> HttpResponse:
        headers = self.response_headers(request_id)
        status = operation.response_code
        shape = operation.output
        if shape is None:
            return HttpResponse(status, headers, b"")
        b = self.bindings(shape)
        override, values, payload = write_bindings(b, result or {}, headers)
        if self._partial and result and result.get(self._partial.get(operation.name, "")):
            override = 206
        if b.payload is not None:
            name, pshape = b.payload
            if pshape.is_event_stream:
                raise NotImplementedError(
                    f"{operation.name}: event stream responses are not supported"
                )
            if payload is None:
                body = b""
            elif b.streaming and is_stream(payload):
                body = payload  # sent in chunks by the edge; the provider set Content-Length
                if b.content_type is None:
                    headers["Content-Type"] = "application/octet-stream"
            elif b.raw_payload:
                body = raw_body(payload)
                if body and b.content_type is None:
                    headers["Content-Type"] = "application/octet-stream"
            else:
                body = self.encode_payload(name, pshape, payload)
        elif b.has_body:
            body = self.encode_body(operation, b, values)
        else:
            body = b""
        if (
            body.__class__ is bytes
            and body
            and b.content_type is None
            and "Content-Type" not in headers
        ):
            headers["Content-Type"] = self.body_content_type
        return HttpResponse(override if override is not None else status, headers, body)


def write_bindings(
    b: Bindings, data: dict[str, Any], headers: dict[str, str]
) -> tuple[int | None, dict[str, Any], Any]:
    """Write header/status members into `headers`; return (status, body members, payload)."""
    status: int | None = None
    values: dict[str, Any] = {}
    payload = None
    out = b.out
    for name, value in data.items():
        if value is None:
            continue
        entry = out.get(name)
        if entry is None:
            continue  # never leak provider-internal fields
        location, wire, shape = entry
        if location == _BODY:
            values[name] = value
        elif location == _HEADER:
            text = to_header(shape, value)
            if text is not None:
                headers[wire] = text
        elif location == _HEADERS:
            for key, item in value.items():
                headers[wire + key] = str(item)
        elif location == _PAYLOAD:
            payload = value
        elif location == _STATUS:
            status = int(value)
    return status, values, payload


def _bind_query(
    b: Bindings, pairs: list[tuple[str, str]], literal_keys: frozenset[str], params: dict[str, Any]
) -> None:
    """Query members from the query string; lists come as repeated keys."""
    for key, value in pairs:
        entry = b.query.get(key)
        if entry is not None:
            name, shape = entry
            if shape.type == "list":
                params.setdefault(name, []).append(from_text(shape.member, value))
            else:
                params[name] = from_text(shape, value)
        elif b.query_map is not None and key not in literal_keys:
            name, shape = b.query_map
            found = params.setdefault(name, {})
            vshape = shape.value
            if vshape.type == "list":
                found.setdefault(key, []).append(from_text(vshape.member, value))
            else:
                found[key] = from_text(vshape, value)


def _bind_headers(b: Bindings, headers: dict[str, str], params: dict[str, Any]) -> None:
    single = b.headers
    if single:
        for name, value in headers.items():
            entry = single.get(name)
            if entry is not None:
                params[entry[0]] = from_text(entry[1], value, header=True)
    for prefix, member in b.header_maps:
        found = {
            name[len(prefix) :]: value for name, value in headers.items() if name.startswith(prefix)
        }
        if found:
            params[member] = found
