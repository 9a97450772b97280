"""A small real HTTP server on loopback that speaks OpenAI's chat-completions protocol.

Each request takes the next scripted step: an answer (streamed as server-sent
events when the client asks for a stream), an HTTP error status, or a pause
longer than the client waits. The server keeps every request body it got.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Step:
    answer: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str = "stop"


def answer(text: str, **kw: object) -> Step:
    return Step(answer=text, **kw)  # type: ignore[arg-type]


def error(status: int, **kw: object) -> Step:
    return Step(status=status, **kw)  # type: ignore[arg-type]


class FakeOpenAI:
    def __init__(self, steps: list[Step] | None = None, api_key: str | None = None) -> None:
        self.steps = list(steps or [])
        self.default = Step(answer="```python\npass\n```")
        self.api_key = api_key
        self.requests: list[dict[str, object]] = []
        self.model_listings = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[dict[str, object]]:
        return self.requests

    def user_prompts(self) -> list[str]:
        return [str(r["messages"][-1]["content"]) for r in self.requests]  # type: ignore[index]

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Step:
        with self._lock:
            return self.steps.pop(0) if self.steps else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: object, headers: dict[str, str] | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if fake.api_key is None:
                    return True
                if self.headers.get("Authorization") == f"Bearer {fake.api_key}":
                    return True
                self._json(401, {"error": {"message": "Incorrect API key provided"}})
                return False

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                fake.model_listings += 1
                self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self) -> None:
                # the client may have given up waiting (a timeout test)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self._authorised():
                    return
                with fake._lock:
                    fake.requests.append(body)
                step = fake._next()
                if step.delay:
                    time.sleep(step.delay)
                if step.status != 200:
                    message = {"error": {"message": f"scripted status {step.status}"}}
                    self._json(step.status, message, step.headers)
                    return
                usage = {
                    "prompt_tokens": 100,
                    "completion_tokens": max(1, len(step.answer) // 4),
                    "total_tokens": 100 + max(1, len(step.answer) // 4),
                }
                if not body.get("stream"):
                    self._json(
                        200,
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body.get("model"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": step.answer},
                                    "finish_reason": step.finish_reason,
                                }
                            ],
                            "usage": usage,
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = [step.answer[i : i + 7] for i in range(0, len(step.answer), 7)]
                for index, piece in enumerate([*pieces, None]):
                    chunk = {
                        "id": "x",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"content": piece} if piece is not None else {},
                                "finish_reason": step.finish_reason if piece is None else None,
                            }
                        ],
                    }
                    if index == 0:
                        chunk["choices"][0]["delta"]["role"] = "assistant"
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                usage_chunk = {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": [],
                    "usage": usage,
                }
                self.wfile.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler
