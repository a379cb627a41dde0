"""integrations/trl_reward.py called the way TRL's GRPOTrainer calls a reward function, on
trl.jsonl rows, against a live `recap reward serve`.

TRL (v1.9 / main) calls a plain reward function with keyword arguments only:
prompts=..., completions=..., completion_ids=..., plus every dataset column except "prompt",
"completion" and "completion_ids" as a list (one entry per completion), plus trainer_state,
log_extra and log_metric; it expects one float (or None) per completion. The stand-in loads the
JSONL as `datasets` does for missing keys (None where a row lacks a column) and repeats every row
for each of its generations.
"""

import pytest
from conftest import response_for

import integrations.trl_reward as trl_reward


def trl_call(func, rows, completions, generations):
    inputs = [r for r in rows for _ in range(generations)]
    columns = sorted({k for r in rows for k in r})
    kwargs = {k: [x.get(k) for x in inputs] for k in columns if k not in ("prompt", "completion", "completion_ids")}
    kwargs.update(trainer_state=object(), log_extra=lambda *a, **k: None, log_metric=lambda *a, **k: None)
    return func(prompts=[x["prompt"] for x in inputs], completions=completions, completion_ids=[[0] for _ in completions], **kwargs)


def test_keyword_call_on_trl_rows(build, reward_url, monkeypatch):
    monkeypatch.setattr(trl_reward, "URL", reward_url + "/v1/reward")
    rows = build["trl"]
    math_row = next(r for r in rows if r["datasource"] == "math")
    benign = next(r for r in rows if r["datasource"] == "over_refusal")
    harm = next(r for r in rows if r["datasource"] == "safety")
    assert "answer" in math_row and "answer" not in benign  # a column only some rows have: None for the others
    picked = [math_row, benign, harm]
    completions = [response_for(r, k) for r, ks in zip(picked, (("right", "wrong"), ("comply", "refuse"), ("refuse", "comply"))) for k in ks]
    rewards = trl_call(trl_reward.recap_reward, picked, completions, generations=2)
    assert rewards[:4] == [1.0, 0.0, 1.0, 0.0]
    assert rewards[4] == pytest.approx(0.98) and rewards[5] == pytest.approx(0.05)
    assert all(isinstance(r, float) for r in rewards)


def test_trl_prompts_lose_only_the_bos_text(build):
    # the fixture template's config says add_bos_token: true, so TRL would add a BOS itself
    by_id = {r["id"]: r["prompt"] for r in build["openrlhf"]}
    for r in build["trl"]:
        assert "<|bos|>" + r["prompt"] == by_id[r["id"]]
