"""A real local HTTP server speaking OpenAI's chat-completions wire format, for tests.

The chain's tests talk to it with the real `openai` client (through langchain-openai), so
everything on the wire is exercised: JSON bodies, streaming SSE (`data: {...}` chunks ending in
`data: [DONE]`), HTTP error statuses and client timeouts. Each test scripts the replies in
order (`reply`, `fail`, `hang`, `stall`, and the broken streams `malformed`, `truncate`, `cut`);
every request is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """One scripted reply: text (streamed in `pieces` chunks), or an HTTP error, or a hang."""

    text: str = ""
    status: int = 200
    hang_seconds: float = 0.0
    pieces: int = 5
    stall_seconds: float = 0.0  # stream the text, then go silent before finishing
    delay_seconds: float = 0.0  # think this long before answering (a slow but healthy model)
    headers: dict[str, str] = field(default_factory=dict)  # sent with an error status
    # A broken stream, after the text's pieces: "malformed" (an event that is not JSON), "eof"
    # (the body ends cleanly but without the final chunk and [DONE]), "cut" (chunked transfer
    # encoding, connection closed in the middle of a chunk).
    broken: str = ""


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)  # arrival time, to check concurrency

    @property
    def prompt(self) -> str:
        """All message contents, joined: what the model was asked."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


@dataclass
class FakeOpenAIServer:
    """Start with `.start()`; `base_url` ends in /v1 like every OpenAI-compatible server."""

    default_text: str = "Nothing was scripted for this request."
    # When nothing is scripted: a reply made from the request (a model that reads its prompt),
    # for requests sent in parallel, whose order a script cannot know.
    responder: Callable[[Recorded], Scripted] | None = None
    requests: list[Recorded] = field(default_factory=list)
    _script: list[Scripted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None

    # --- scripting ------------------------------------------------------------------------------

    def reply(self, text: str, *, pieces: int = 5) -> None:
        self._push(Scripted(text=text, pieces=pieces))

    def fail(self, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer `status` with an OpenAI error body, and `headers` (e.g. Retry-After)."""
        for _ in range(times):
            self._push(Scripted(status=status, headers=dict(headers or {})))

    def stall(self, text: str, seconds: float) -> None:
        """Stream `text`, then send nothing for `seconds` (a wedged generation)."""
        self._push(Scripted(text=text, stall_seconds=seconds))

    def slow(self, text: str, seconds: float, *, times: int = 1) -> None:
        """Answer `text` after `seconds`, like a model that takes its time."""
        for _ in range(times):
            self._push(Scripted(text=text, delay_seconds=seconds))

    def malformed(self, text: str) -> None:
        """Stream `text`, then an SSE event whose data is not JSON, then end normally."""
        self._push(Scripted(text=text, broken="malformed"))

    def truncate(self, text: str) -> None:
        """Stream `text`, then close the connection: no finish chunk, no `data: [DONE]`."""
        self._push(Scripted(text=text, broken="eof"))

    def cut(self, text: str) -> None:
        """Stream `text` with chunked encoding, then drop the connection mid-chunk."""
        self._push(Scripted(text=text, broken="cut"))

    def hang(self, seconds: float, *, times: int = 1) -> None:
        for _ in range(times):
            self._push(Scripted(hang_seconds=seconds))

    def _push(self, item: Scripted) -> None:
        with self._lock:
            self._script.append(item)

    def _next(self, request: Recorded) -> Scripted:
        with self._lock:
            if self._script:
                return self._script.pop(0)
        if self.responder is not None:
            return self.responder(request)
        return Scripted(text=self.default_text)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are hanging
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
        else:
            self._json(404, _error("not found", "invalid_request_error"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, _error("body is not JSON", "invalid_request_error"))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Recorded(self.path, headers, body)
        with self.fake._lock:
            self.fake.requests.append(request)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, _error(f"no route {self.path}", "invalid_request_error"))
            return
        scripted = self.fake._next(request)
        if scripted.hang_seconds:
            self.fake._stopping.wait(scripted.hang_seconds)
            return  # close without answering, like a wedged server
        if scripted.status != 200:
            kind = {429: "rate_limit_exceeded", 401: "invalid_api_key", 404: "model_not_found"}
            message = f"scripted failure {scripted.status}"
            error = _error(message, kind.get(scripted.status, "server_error"))
            self._json(scripted.status, error, scripted.headers)
            return
        if scripted.delay_seconds:
            self.fake._stopping.wait(scripted.delay_seconds)
        model = body.get("model", "test-model")
        if body.get("stream"):
            self._stream(model, scripted)
        else:
            self._json(200, _completion(model, scripted.text))

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, scripted: Scripted) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self._chunked = scripted.broken == "cut"
        if self._chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        chunks = [{"role": "assistant", "content": ""}]
        chunks += [{"content": piece} for piece in split_pieces(scripted.text, scripted.pieces)]
        for delta in chunks:
            self._event(_chunk(model, delta, None))
        if scripted.stall_seconds:
            self.fake._stopping.wait(scripted.stall_seconds)
            return
        if scripted.broken == "malformed":
            self._write(b'data: {"id": "chatcmpl-test", "choices": [{"delta": {"content": "x\n\n')
        elif scripted.broken == "eof":
            return  # the handler closes the connection: a clean end of the body, too early
        elif scripted.broken == "cut":
            self.wfile.write(b"400\r\ndata: {")  # a chunk announced as 1 KiB, then nothing
            self.wfile.flush()
            return
        self._event(_chunk(model, {}, "stop"))
        self._write(b"data: [DONE]\n\n")

    def _event(self, payload: dict[str, Any]) -> None:
        self._write(f"data: {json.dumps(payload)}\n\n".encode())
        time.sleep(0.002)  # separate TCP writes, so the client really receives a stream

    def _write(self, data: bytes) -> None:
        if getattr(self, "_chunked", False):
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)
        self.wfile.flush()


def split_pieces(text: str, pieces: int) -> list[str]:
    """`text` cut at word boundaries into about `pieces` parts that join back exactly."""
    words = text.split(" ")
    size = max(1, -(-len(words) // max(1, pieces)))
    parts = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [p if i == len(parts) - 1 else p + " " for i, p in enumerate(parts)]


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
