"""A minimal OpenAI-compatible chat-completions server around a local GGUF (tests, small teachers).

Bound to 127.0.0.1 only. `POST /v1/chat/completions` renders `messages` + `tools` with the
project's chat template, generates greedily with llama.cpp and, like a serving framework's tool
parser, returns `<tool_call>` blocks that parse strictly as OpenAI `tool_calls` (arguments as a
JSON string); anything else comes back as plain `content`, junk included. One request at a
time (a `Llama` object is not thread-safe).

Edge module: imports llama_cpp.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterator

import llama_cpp

from evals.parser import parse_strict
from evals.template import render_chat
from orchestrator.train.chat_template import load_template


class _Handler(BaseHTTPRequestHandler):
    server: "TeacherServer"

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature; keep test output quiet
        pass

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": self.server.model_name, "object": "model"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self):  # noqa: N802
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            messages, tools = body["messages"], body.get("tools")
        except (ValueError, KeyError, TypeError) as err:
            self._send(400, {"error": {"message": f"bad request: {err}"}})
            return
        try:
            self._send(200, self.server.complete(messages, tools, int(body.get("max_tokens") or 256),
                                                 float(body.get("temperature") or 0.0)))
        except PromptTooLong as err:
            self._send(400, {"error": {"message": str(err)}})


class PromptTooLong(ValueError):
    pass


class TeacherServer(HTTPServer):
    def __init__(self, model_path: str | os.PathLike, port: int = 0, n_ctx: int = 2048, seed: int = 0,
                 n_threads: int | None = None):
        super().__init__(("127.0.0.1", port), _Handler)
        self.model_name = os.path.basename(str(model_path))
        self.template = load_template("toolchat")
        self.llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, seed=seed, verbose=False,
                                   n_threads=n_threads or os.cpu_count() or 1)
        self.requests = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def complete(self, messages: list[dict], tools: list[dict] | None, max_tokens: int, temperature: float) -> dict:
        prompt = render_chat(self.template, messages, tools, add_generation_prompt=True)
        tokens = self.llm.tokenize(prompt.encode(), add_bos=False, special=True)
        room = self.llm.n_ctx() - len(tokens)
        if room <= 0:
            raise PromptTooLong(f"prompt of {len(tokens)} tokens does not fit n_ctx {self.llm.n_ctx()}")
        out = self.llm.create_completion(prompt=tokens, max_tokens=min(max_tokens, room), temperature=temperature,
                                         top_k=1 if temperature == 0 else 40, stop=["<|im_end|>"])
        text = out["choices"][0]["text"]
        self.requests += 1
        parsed = parse_strict(text)
        message: dict = {"role": "assistant", "content": text}
        if parsed.ok and parsed.calls:
            message = {"role": "assistant", "content": parsed.text or None,
                       "tool_calls": [{"id": f"call_{self.requests}_{i}", "type": "function",
                                       "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                                      for i, c in enumerate(parsed.calls)]}
        return {"id": f"chatcmpl-{self.requests}", "object": "chat.completion", "created": int(time.time()),
                "model": self.model_name,
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                "usage": {"prompt_tokens": len(tokens), "completion_tokens": out["usage"]["completion_tokens"]}}

    def server_close(self) -> None:
        super().server_close()
        self.llm.close()


@contextlib.contextmanager
def running(model_path: str | os.PathLike, port: int = 0, n_ctx: int = 2048,
            n_threads: int | None = None) -> Iterator[TeacherServer]:
    """Serve in a background thread on 127.0.0.1 (port 0: an ephemeral one); stop on exit."""
    server = TeacherServer(model_path, port, n_ctx, n_threads=n_threads)
    thread = threading.Thread(target=server.serve_forever, name="teacher-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Serve a GGUF as an OpenAI-compatible chat-completions endpoint on "
                                             "127.0.0.1 (for `toolsweep label --endpoint`).")
    ap.add_argument("model", help="a .gguf file")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--n-ctx", type=int, default=4096)
    args = ap.parse_args(argv)
    server = TeacherServer(args.model, args.port, args.n_ctx)
    print(f"serving {server.model_name} at {server.base_url}/v1/chat/completions (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
