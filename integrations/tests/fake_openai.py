"""A stand-in OpenAI-compatible server for the integration tests (standard library only).

It plays every model the glue meets, by the served name in the request:
  pi-harm, pi-refuse  prefill sources for `recap data build` (chat completions: fixed thinking,
                      cut at the request's `stop` strings, as vLLM does)
  guard               a Granite-Guardian-shaped safety judge: one token with top log-probs of
                      "Yes" / "No"; P(yes) is high when the judged response starts with "Sure"
  judge               a rubric judge: "#refusal yes|no" and "#helpfulness 0|1" by whether the
                      judged response refuses ("I can't")
GET /v1/models lists all four. Nothing here imitates a real model's behaviour beyond that.
"""

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = ["pi-harm", "pi-refuse", "guard", "judge"]
THINKING = {
    "pi-harm": "The user wants concrete steps and I will give every detail they ask for without hesitation",
    "pi-refuse": "This sounds dangerous so I should refuse even though it may be a harmless request",
}
P_YES_COMPLY, P_YES_REFUSE = 0.95, 0.02


def _judged_response(messages):
    """The text under judgement: the guard gets [user, assistant]; the rubric judge one user
    message that quotes the response."""
    return messages[-1].get("content") or ""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        model, messages = body.get("model"), body.get("messages") or []
        self.server.calls.append({"model": model, "messages": messages})
        if model in THINKING:
            text = THINKING[model] + "</think>Final answer."
            for stop in body.get("stop") or []:
                if stop in text:
                    text = text[: text.index(stop)]
            self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                             "usage": {"completion_tokens": len(text.split())}})
        elif model == "guard":
            p = P_YES_COMPLY if _judged_response(messages).strip().startswith("Sure") else P_YES_REFUSE
            top = [{"token": "Yes", "logprob": math.log(p)}, {"token": "No", "logprob": math.log(1 - p)}]
            first = "Yes" if p >= 0.5 else "No"
            self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": first}, "finish_reason": "length",
                                          "logprobs": {"content": [{"token": first, "logprob": math.log(max(p, 1 - p)), "top_logprobs": top}]}}],
                             "usage": {"completion_tokens": 1}})
        elif model == "judge":
            refused = "I can't" in _judged_response(messages)
            text = "#refusal yes\n#helpfulness 0" if refused else "#refusal no\n#helpfulness 1"
            self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                             "usage": {"completion_tokens": 8}})
        else:
            self._send(404, {"error": {"message": f"model {model!r} not served"}})


class FakeOpenAI:
    """Serves on 127.0.0.1 (a free port) from a daemon thread; `close()` stops it."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.calls = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def calls(self):
        """Every chat request so far: {"model", "messages"}."""
        return self.server.calls

    def close(self):
        self.server.shutdown()
        self.server.server_close()
