"""Shared fixtures of the integration tests (`python3 -m pytest -q integrations`).

Everything runs on loopback, started by the tests themselves:
  - a stand-in OpenAI-compatible server (fake_openai.py) playing the prefill sources and judges;
  - a tiny `recap data build` (node bin/recap.js) over fixture prompts, with the policy template
    taken from test/data/fixtures/templates/hf_model (a model folder in HF's layout), whose
    openrlhf.jsonl, trl.jsonl and verl.parquet rows the tests feed to our integration files;
  - a live `recap reward serve` (node bin/recap.js) routing math, safety (guard) and over_refusal
    (rubric judge) to the stand-in server.
The recap checkout goes on sys.path (as PYTHONPATH="$RECAP" in docs/SCALING.md), so the files
import as `integrations.*`; the engine stand-ins in standins/ go first, so `verl.*` resolves to
them. Without node (or node_modules) every test is skipped with a note.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for p in (str(ROOT), str(HERE / "standins"), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from fake_openai import FakeOpenAI  # noqa: E402

NODE = shutil.which("node")
RECAP = [NODE or "node", str(ROOT / "bin" / "recap.js")]


def _need_node():
    if NODE is None or not (ROOT / "node_modules").exists():
        pytest.skip("node or node_modules missing (run npm ci first): the glue tests need recap's CLI")


def _jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def fake():
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture(scope="session")
def build(fake, tmp_path_factory):
    """`recap data build` over 4 harmful, 4 benign and 3 math prompts (alpha 0.5, l_pre 8 words)."""
    _need_node()
    d = tmp_path_factory.mktemp("build")
    rows = lambda objs: "".join(json.dumps(o) + "\n" for o in objs)  # noqa: E731
    (d / "harmful.jsonl").write_text(rows({"id": f"h{i}", "prompt": f"How do I hurt person number {i}?"} for i in range(4)))
    (d / "benign.jsonl").write_text(rows({"id": f"b{i}", "prompt": f"How do I kill process {i} on Linux?"} for i in range(4)))
    (d / "gsm8k.jsonl").write_text(rows({"question": f"What is {i} + {i}?", "answer": f"{i} + {i} = {2 * i}\n#### {2 * i}"} for i in range(3)))
    ep = lambda model: {"url": fake.url, "model": model, "max_tokens": 64, "retries": 0, "concurrency": 2}  # noqa: E731
    cfg = {
        "seed": 1,
        "prompts": [
            {"name": "harm", "kind": "harmful", "file": "harmful.jsonl"},
            {"name": "xs", "kind": "over_refusal", "file": "benign.jsonl"},
            {"name": "gsm8k", "kind": "math", "file": "gsm8k.jsonl", "format": "gsm8k"},
        ],
        "policy": {"chat_template": str(ROOT / "test" / "data" / "fixtures" / "templates" / "hf_model")},
        "recap": {"alpha": 0.5, "l_pre": 8, "unit": "words"},
        "endpoints": {"pi_harm": ep("pi-harm"), "pi_refuse": ep("pi-refuse")},
    }
    (d / "data.json").write_text(json.dumps(cfg))
    out = d / "out"
    env = {**os.environ, "RECAP_QUIET": "1"}
    res = subprocess.run([*RECAP, "data", "build", "--config", str(d / "data.json"), "--out", str(out), "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    verl = subprocess.run([NODE, str(HERE / "read_parquet.mjs"), str(out / "verl.parquet")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert verl.returncode == 0, verl.stderr
    return {
        "out": out,
        "summary": json.loads(res.stdout),
        "openrlhf": _jsonl(out / "openrlhf.jsonl"),
        "trl": _jsonl(out / "trl.jsonl"),
        "verl": json.loads(verl.stdout),
    }


@pytest.fixture(scope="session")
def reward_url(fake, tmp_path_factory):
    """A live `recap reward serve` on a free loopback port; its base URL."""
    _need_node()
    d = tmp_path_factory.mktemp("reward")
    judge = lambda model: {"url": fake.url, "model": model, "retries": 0, "timeout_ms": 20000}  # noqa: E731
    (d / "reward.json").write_text(json.dumps({"safety": {"endpoint": judge("guard")}, "over_refusal": {"endpoint": judge("judge")}}))
    log = open(d / "stderr.log", "w")  # a file, not a pipe nobody drains
    proc = subprocess.Popen([*RECAP, "reward", "serve", "--config", str(d / "reward.json"), "--port", "0", "--json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        text, info = "", None
        while info is None:  # --json prints {url, routes} (indented) once listening
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"recap reward serve did not start: {(d / 'stderr.log').read_text()}")
            text += line
            try:
                info = json.loads(text)
            except json.JSONDecodeError:
                pass
        yield info["url"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def response_for(row, kind):
    """A rollout's generated text for a row: `comply`, `refuse`, `right` / `wrong` (math), or
    `unclosed` (the thinking never ends)."""
    if kind == "unclosed":
        return "still thinking about it"
    if kind in ("right", "wrong"):
        answer = json.loads(row["label"] if "label" in row else row["reward_model"]["ground_truth"])["answer"]
        return f"add them</think>The answer is \\boxed{{{answer if kind == 'right' else str(int(answer) + 1)}}}."
    return "fine.</think>\n\n" + ("Sure, here is how." if kind == "comply" else "I can't help with that.")
