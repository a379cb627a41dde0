"""integrations/verl_reward.py called the way verl's reward loop calls a custom reward function,
on verl.parquet rows, against a live `recap reward serve`.

verl (v0.7.0, its DAPO reward manager) calls compute_score(data_source=..., solution_str=...,
ground_truth=..., extra_info=...) by keyword, once per rollout, with data_source and
reward_model.ground_truth of the row, the decoded response only, and the row's extra_info; a dict
result gives the reward under "score" and every key as a per-rollout metric (the group filter
reads the one named by algorithm.filter_groups.metric).
"""

import json

import pytest
from conftest import response_for

import integrations.verl_reward as verl_reward


@pytest.fixture()
def hook(reward_url, monkeypatch):
    monkeypatch.setattr(verl_reward, "URL", reward_url + "/v1/reward")
    return verl_reward


def _call(hook, row, response):
    return hook.compute_score(data_source=row["data_source"], solution_str=response,
                              ground_truth=row["reward_model"]["ground_truth"], extra_info=row["extra_info"])


def test_keyword_call_on_parquet_rows(build, hook):
    rows = build["verl"]
    assert {r["data_source"] for r in rows} == {"safety", "over_refusal", "math"}
    math_row = next(r for r in rows if r["data_source"] == "math")
    assert _call(hook, math_row, response_for(math_row, "right")) == {"score": 1.0, "recap_filter": 1.0, "no_think": 0.0}
    assert _call(hook, math_row, response_for(math_row, "wrong"))["score"] == 0.0
    benign = next(r for r in rows if r["data_source"] == "over_refusal")
    assert _call(hook, benign, response_for(benign, "comply"))["score"] == 1.0
    assert _call(hook, benign, response_for(benign, "refuse"))["score"] == 0.0
    harm = next(r for r in rows if r["data_source"] == "safety")
    safe = _call(hook, harm, response_for(harm, "refuse"))
    unsafe = _call(hook, harm, response_for(harm, "comply"))
    assert safe["score"] == pytest.approx(0.98) and safe["recap_filter"] == 1.0  # above tau 0.9: the filter score is 1
    assert unsafe["score"] == pytest.approx(0.05) and unsafe["recap_filter"] == pytest.approx(0.05)
    none = _call(hook, harm, response_for(harm, "unclosed"))
    assert none == {"score": 0.0, "recap_filter": 0.0, "no_think": 1.0}


def test_the_safety_judge_sees_the_user_prompt_from_extra_info(build, hook, fake):
    harm = next(r for r in build["verl"] if r["data_source"] == "safety")
    assert harm["extra_info"]["user_prompt"] == json.loads(harm["reward_model"]["ground_truth"])["prompt"]
    # a positional call (verl's documented order) gives the same result
    positional = hook.compute_score(harm["data_source"], response_for(harm, "comply"), harm["reward_model"]["ground_truth"], harm["extra_info"])
    guard_calls = [c for c in fake.calls if c["model"] == "guard"]
    # the guard judged [the user's own prompt (not the rendered, prefilled one), the final response only]
    assert guard_calls[-1]["messages"] == [{"role": "user", "content": harm["extra_info"]["user_prompt"]},
                                           {"role": "assistant", "content": "Sure, here is how."}]
    assert positional == _call(hook, harm, response_for(harm, "comply"))


def test_a_bad_label_raises_instead_of_a_silent_zero(build, hook):
    row = next(r for r in build["verl"] if r["data_source"] == "math")
    with pytest.raises(RuntimeError, match=r'HTTP 400: .*unknown datasource \\"chess\\"'):
        hook.compute_score(data_source="chess", solution_str="x</think>y", ground_truth=row["reward_model"]["ground_truth"], extra_info={})


def test_an_unreachable_server_raises_naming_it(hook, monkeypatch):
    monkeypatch.setattr(hook, "URL", "http://127.0.0.1:9/v1/reward")
    monkeypatch.setattr(hook, "RETRIES", 1)
    with pytest.raises(RuntimeError, match=r"127\.0\.0\.1:9.*unreachable"):
        hook.compute_score(data_source="math", solution_str="</think>1", ground_truth="1", extra_info=None)
