"""cloudlet's Python runtime: loads the handler and serves invocations over the Lambda Runtime API.

Started as `python -S python_bootstrap.py <code+layer paths> <site-packages dirs>` inside an
execution environment; standard library only. It behaves like AWS's Python runtime: the handler
`module.function` (or `dir/module.function`) is imported from LAMBDA_TASK_ROOT and the layers,
the context object has every documented attribute, errors are reported as
`{"errorMessage", "errorType", "requestId", "stackTrace"}`, import problems as
Runtime.ImportModuleError / Runtime.HandlerNotFound through `/runtime/init/error`, and the root
logger writes Lambda's `[LEVEL]\\ttimestamp\\trequest id\\tmessage` lines.

The HTTP client is a few lines over a raw keep-alive socket: each invocation costs two round trips
(`next`, then `response`), and a lean client makes them ~0.1 ms instead of ~0.5 ms with urllib.
`-S` skips site's .pth hooks, which can cost tens of milliseconds of cold start; site-packages are
added here instead, honouring the path lines of .pth files but not their import lines.
"""

# ruff: noqa: SIM105  (contextlib would add its imports to every cold start)

import os
import sys

NEXT = "/2018-06-01/runtime/invocation/next"
INVOCATION = "/2018-06-01/runtime/invocation/"
INIT_ERROR = "/2018-06-01/runtime/init/error"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


def setup_path(front, sites):
    """sys.path: code and layers first, then the stdlib, then the local site-packages."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]
    entries = [p for p in front.split(os.pathsep) if p and p not in sys.path]
    sys.path[:0] = entries
    for site_dir in sites.split(os.pathsep):
        if site_dir and site_dir not in sys.path and os.path.isdir(site_dir):
            sys.path.append(site_dir)
            add_pth_paths(site_dir)
    import _sitebuiltins
    import builtins

    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    builtins.help = _sitebuiltins._Helper()


def add_pth_paths(site_dir):
    try:
        names = sorted(n for n in os.listdir(site_dir) if n.endswith(".pth"))
    except OSError:
        return
    for name in names:
        try:
            with open(os.path.join(site_dir, name), encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            line = line.strip()
            if not line or line.startswith(("#", "import ", "import\t")):
                continue
            path = os.path.join(site_dir, line)
            if path not in sys.path and os.path.exists(path):
                sys.path.append(path)


class RuntimeClient:
    """HTTP/1.1 with keep-alive over one socket, just enough for the Runtime API."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self.host = address
        self.sock = None
        self.buf = b""

    def request(self, method, path, body=b"", headers=None, then_next=False):
        """One request and its response; with `then_next`, a `next` is pipelined behind it
        (saving a round trip per invocation) and both responses are returned."""
        if self.sock is None:
            import _socket  # not `socket`: its enums cost milliseconds of cold start

            sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
            sock.connect(self.address)
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self.sock, self.buf = sock, b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        if headers:
            head += "".join("{}: {}\r\n".format(*item) for item in headers.items())
        data = (head + "\r\n").encode("latin-1")
        tail = f"GET {NEXT} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode() if then_next else b""
        if len(body) < 65536:
            self.sock.sendall(data + body + tail)
        else:
            self.sock.sendall(data)
            self.sock.sendall(body + tail)
        first = self.read_response()
        return (first, self.read_response()) if then_next else first

    def read_response(self):
        sock, buf = self.sock, self.buf
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the Runtime API closed the connection")
            buf += chunk
            end = buf.find(b"\r\n\r\n")
        lines = buf[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = bytearray(buf[end + 4 :])
        while len(body) < length:
            chunk = sock.recv(max(65536, length - len(body)))
            if not chunk:
                raise ConnectionError("the Runtime API closed the connection")
            body += chunk
        self.buf = bytes(body[length:])
        if headers.get("connection", "").lower() == "close":
            sock.close()
            self.sock = None
        return status, headers, bytes(body[:length])


class Fault(Exception):
    """An error of the runtime itself (not of the handler), with Lambda's error type."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data):
        for name in self.__slots__:
            setattr(self, name, data.get(name))


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data):
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """The context object, as AWS's Python runtime builds it."""

    def __init__(self, request_id, headers, client_context, identity):
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(identity or {})
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms", "0"))

    def get_remaining_time_in_millis(self):
        import time

        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context={self.client_context},identity={self.identity}])"
        )


class State:
    request_id = ""


class LoggingHook:
    """Sets up the root logger when `logging` is first imported (by the handler or a library):
    importing it up front would add ~10 ms to every cold start of functions that never log."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            execute = spec.loader.exec_module

            def exec_module(module):
                execute(module)
                setup_logging(module)

            spec.loader.exec_module = exec_module
        return spec


def setup_logging(logging):
    """The root logger writes Lambda's text format to stdout (level WARNING, as on AWS, unless
    AWS_LAMBDA_LOG_LEVEL says otherwise); a multi-line record stays one log event."""
    import time

    class Handler(logging.Handler):
        def emit(self, record):
            try:
                text = self.format(record)
            except Exception:
                self.handleError(record)
                return
            sys.stdout.write(text.replace("\n", "\r") + "\n")

    class Filter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = State.request_id
            return True

    handler = Handler()
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(Filter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)


def load_handler(name):
    import importlib

    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as error:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{name}': {error}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        message = f"Cannot use built-in module {module_name} as a handler module"
        raise Fault("Runtime.BuiltInModuleConflict", message)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        message = f"Unable to import module '{module_name}': {error}"
        raise Fault("Runtime.ImportModuleError", message) from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        message = f"Syntax error in module '{module_name}': {error}"
        raise Fault("Runtime.UserCodeSyntaxError", message, trace) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise Fault("Runtime.HandlerNotFound", message) from None


def error_result(error, request_id=""):
    """Lambda's error document for an exception (user frames only)."""
    if isinstance(error, Fault):
        trace = error.trace or []
        return make_error(error.message, error.error_type, trace, request_id)
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    for index, frame in enumerate(frames):
        if not frame.filename.endswith("python_bootstrap.py"):
            frames = frames[index:]
            break
    else:
        frames = []
    trace = traceback.format_list(frames)
    return make_error(str(error), type(error).__name__, trace, request_id)


def make_error(message, error_type, trace, request_id):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": trace or [],
    }


def log_error(error):
    """`[ERROR] Type: message` and the traceback, as one log event (lines joined by \\r)."""
    description = "[ERROR] " + error["errorType"]
    if error["errorMessage"]:
        description += ": " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    flush()
    sys.stdout.write("\r".join(lines).replace("\n", "\r") + "\n")
    flush()


def flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def encoder():
    import decimal
    import json

    version = os.environ.get("AWS_EXECUTION_ENV", "").rpartition("python3.")[2]
    ascii_only = not (version.isdigit() and int(version) >= 12)  # AWS: python3.12+ keeps UTF-8

    def default(obj):
        if isinstance(obj, decimal.Decimal):
            return float(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return json.JSONEncoder(ensure_ascii=ascii_only, default=default).encode


def parse_header_json(value, what):
    import json

    try:
        return json.loads(value)
    except ValueError as error:
        message = f"Unable to parse {what} JSON: {error}"
        raise Fault("Runtime.LambdaContextUnmarshalError", message) from None


def invoke_once(client, handler, encode, next_response):
    """Serve one invocation; returns the response of the `next` pipelined behind the answer."""
    import json

    status, headers, body = next_response
    if status != 200:
        raise SystemExit(f"the Runtime API refused next: {status} {body!r}")
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    State.request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    error = None
    try:
        client_context = headers.get("lambda-runtime-client-context")
        identity = headers.get("lambda-runtime-cognito-identity")
        context = LambdaContext(
            request_id,
            headers,
            parse_header_json(client_context, "Client Context") if client_context else None,
            parse_header_json(identity, "Cognito Identity") if identity else None,
        )
        try:
            event = json.loads(body) if body else {}
        except ValueError as exc:
            raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
        result = handler(event, context)
        if isinstance(result, bytes):
            payload = result
        else:
            try:
                payload = encode(result).encode("utf-8")
            except Exception as exc:
                message = f"Unable to marshal response: {exc}"
                raise Fault("Runtime.MarshalError", message) from None
    except Exception as exc:
        error = error_result(exc, request_id)
    path = INVOCATION + request_id
    if error is None:
        flush()
        answer, following = client.request("POST", path + "/response", payload, then_next=True)
    else:
        log_error(error)
        data = json.dumps(error).encode("utf-8")
        type_header = {ERROR_TYPE_HEADER: error["errorType"]}
        answer, following = client.request("POST", path + "/error", data, type_header, True)
    if answer[0] >= 300:
        sys.stderr.write(f"cloudlet bootstrap: the Runtime API refused the answer: {answer}\n")
    return following


def main():
    setup_path(*([*sys.argv[1:3], "", ""])[:2])
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass
    if "logging" in sys.modules:
        setup_logging(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, LoggingHook())
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as exc:
        import json

        error = error_result(exc)
        log_error(error)
        data = json.dumps(error).encode("utf-8")
        client.request("POST", INIT_ERROR, data, {ERROR_TYPE_HEADER: error["errorType"]})
        sys.exit(1)
    encode = encoder()
    following = client.request("GET", NEXT)
    while True:
        following = invoke_once(client, handler, encode, following)


if __name__ == "__main__":
    main()
