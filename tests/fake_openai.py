"""A tiny OpenAI-compatible chat server on 127.0.0.1 that plays a faithfulness judge (no network).

It answers ragas' two Faithfulness prompts: statement generation (one statement per sentence of the
answer) and NLI verdicts (a statement is supported when all of its numbers occur in the context), and
FactualCorrectness's claim decomposition (one claim per sentence of the response) with the same NLI.
It records the requests, so tests can check what was sent.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _input_of(prompt: str) -> dict[str, Any]:
    m = re.search(r"input: (\{.*\})\s*Output:\s*$", prompt, re.DOTALL)
    return json.loads(m.group(1)) if m else {}


def judge_reply(prompt: str) -> dict[str, Any]:
    data = _input_of(prompt)
    if "statements" in data and "context" in data:
        context = data["context"]
        return {"statements": [
            {"statement": s, "reason": "numbers checked",
             "verdict": int(all(n in context for n in re.findall(r"\d+", s)))}
            for s in data["statements"]]}
    if "response" in data:
        return {"claims": [s.strip() for s in re.split(r"(?<=\.)\s+", data["response"]) if s.strip()]}
    answer = data.get("answer", "")
    return {"statements": [s.strip() for s in re.split(r"(?<=\.)\s+", answer) if s.strip()]}


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                prompt = body["messages"][-1]["content"]
                if isinstance(prompt, list):
                    prompt = "".join(p.get("text", "") for p in prompt)
                content = json.dumps(judge_reply(prompt))
                reply = {"id": "fake-1", "object": "chat.completion", "created": 0, "model": body.get("model"),
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
