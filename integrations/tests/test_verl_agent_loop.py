"""integrations/verl_prefill_agent_loop.py and verl_agent_loops.yaml, run the way verl's agent
loop worker runs an agent loop, on verl.parquet rows, through to a live reward.

The stand-in worker follows verl v0.7.0's documented flow: the agent loop config file is a YAML
list of {name, _target_} entries; a row's `agent_name` picks the entry, whose `_target_` class is
instantiated with (trainer_config, server_manager, tokenizer, processor, dataset_cls,
dataset_config) and awaited as run(sampling_params, **row fields) with raw_prompt = the row's
`prompt` messages. The verl classes it builds on come from standins/ (see its README). The
tokenizer stand-in is character-level, so token ids map back to text exactly; asked to add
special tokens it would prepend id 0, which must never happen here.
"""

import asyncio
import importlib
import sys
import types
from pathlib import Path

import pytest
from conftest import ROOT, response_for

from verl.experimental.agent_loop.agent_loop import DictConfigWrap

import integrations.verl_reward as verl_reward

REGISTRY = ROOT / "integrations" / "verl_agent_loops.yaml"


class CharTokenizer:
    def encode(self, text, add_special_tokens=True):
        return ([0] if add_special_tokens else []) + [ord(c) for c in text]

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids if not (skip_special_tokens and i == 0))

    def apply_chat_template(self, messages, tools=None, add_generation_prompt=False, tokenize=True, **kwargs):
        text = "".join(f"<{m['role']}>{m['content']}" for m in messages) + ("<assistant>" if add_generation_prompt else "")
        return self.encode(text, add_special_tokens=False) if tokenize else text


class ServerManager:
    """Answers every generate call with a fixed response; records the prompt ids it was sent."""

    def __init__(self, tokenizer, response):
        self.tokenizer, self.response, self.prompts = tokenizer, response, []

    async def generate(self, request_id, prompt_ids, sampling_params, image_data=None, video_data=None):
        self.prompts.append(list(prompt_ids))
        return types.SimpleNamespace(token_ids=self.tokenizer.encode(self.response, add_special_tokens=False), log_probs=None)


def read_registry(path):
    """The YAML list of {name, _target_} maps (the one form verl_agent_loops.yaml uses)."""
    entries = []
    for line in Path(path).read_text().splitlines():
        s = line.split("#", 1)[0].rstrip()
        if not s.strip():
            continue
        if s.lstrip().startswith("- "):
            entries.append({})
            s = s.lstrip()[2:]
        key, _, value = s.strip().partition(":")
        entries[-1][key.strip()] = value.strip()
    return entries


def instantiate(target, **kwargs):
    module, _, cls = target.rpartition(".")
    return getattr(importlib.import_module(module), cls)(**kwargs)


def run_row(row, response, registry=REGISTRY):
    entry = {e["name"]: e for e in read_registry(registry)}[row["agent_name"]]
    tok = CharTokenizer()
    server = ServerManager(tok, response)
    config = {"actor_rollout_ref": {"rollout": {"prompt_length": 4096, "response_length": 256}}}
    loop = instantiate(entry["_target_"], trainer_config=DictConfigWrap(config), server_manager=server, tokenizer=tok,
                       processor=None, dataset_cls=None, dataset_config={})
    fields = {k: v for k, v in row.items() if k != "prompt"}
    out = asyncio.run(loop.run({"temperature": 1.0}, raw_prompt=row["prompt"], **fields))
    return out, server.prompts[0], tok


def test_the_registry_names_the_loop_every_row_asks_for(build):
    entries = read_registry(REGISTRY)
    assert [e["name"] for e in entries] == ["recap_prefill"]
    assert {r["agent_name"] for r in build["verl"]} == {"recap_prefill"}
    from integrations.verl_prefill_agent_loop import RecapPrefillAgentLoop

    assert entries[0]["_target_"] == f"{RecapPrefillAgentLoop.__module__}.{RecapPrefillAgentLoop.__name__}"


def test_prefilled_rows_reach_the_policy_as_rendered(build):
    rows = build["verl"]
    prefilled = [r for r in rows if r["extra_info"]["prefilled"]]
    assert prefilled and len(prefilled) < len(rows)
    for row in rows:
        out, sent, tok = run_row(row, "ok</think>fine")
        text = row["extra_info"]["prompt_text"]
        assert sent == tok.encode(text, add_special_tokens=False), row["extra_info"]["id"]  # no special token added
        assert out.prompt_ids == sent
        if row["extra_info"]["prefilled"]:
            assert text.endswith("<think>\n" + row["extra_info"]["prefill"])
            # what verl's own rendering of the messages would have sent: no prefill at all
            assert tok.apply_chat_template(row["prompt"], add_generation_prompt=True) != sent
        assert tok.decode(out.response_ids) == "ok</think>fine" and out.response_mask == [1] * len(out.response_ids)


def test_a_row_without_prompt_text_falls_back_to_the_chat_template(build):
    row = dict(build["verl"][0])
    row["extra_info"] = {**row["extra_info"], "prompt_text": None}
    _, sent, tok = run_row(row, "x")
    assert sent == tok.apply_chat_template(row["prompt"], add_generation_prompt=True)


def test_from_parquet_row_to_reward(build, reward_url, monkeypatch):
    monkeypatch.setattr(verl_reward, "URL", reward_url + "/v1/reward")
    harm = next(r for r in build["verl"] if r["data_source"] == "safety" and r["extra_info"]["prefilled"])
    for kind, want in (("refuse", 0.98), ("comply", 0.05)):
        out, _, tok = run_row(harm, response_for(harm, kind))
        result = verl_reward.compute_score(data_source=harm["data_source"], solution_str=tok.decode(out.response_ids, skip_special_tokens=True),
                                           ground_truth=harm["reward_model"]["ground_truth"], extra_info=harm["extra_info"])
        assert result["score"] == pytest.approx(want)


def test_an_older_verl_without_apply_chat_template_is_refused_at_import(monkeypatch):
    class OldBase:  # verl 0.6's AgentLoopBase had no apply_chat_template to override
        pass

    old = types.ModuleType("verl.experimental.agent_loop.agent_loop")
    old.AgentLoopBase = OldBase
    single = types.ModuleType("verl.experimental.agent_loop.single_turn_agent_loop")
    single.SingleTurnAgentLoop = type("SingleTurnAgentLoop", (OldBase,), {})
    monkeypatch.setitem(sys.modules, "verl.experimental.agent_loop.agent_loop", old)
    monkeypatch.setitem(sys.modules, "verl.experimental.agent_loop.single_turn_agent_loop", single)
    monkeypatch.delitem(sys.modules, "integrations.verl_prefill_agent_loop", raising=False)
    with pytest.raises(ImportError, match=r"verl >= 0\.7"):
        importlib.import_module("integrations.verl_prefill_agent_loop")
    monkeypatch.delitem(sys.modules, "integrations.verl_prefill_agent_loop", raising=False)
