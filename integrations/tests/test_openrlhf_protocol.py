"""OpenRLHF's remote reward call against a live `recap reward serve`, on openrlhf.jsonl rows.

The stand-in below follows OpenRLHF's documented per-rollout protocol (v0.9.10 to main): each
rollout is posted on its own as {"query": [prompt + response], "prompts": [prompt], "labels":
[label]}; with several comma-separated --remote_rm_url URLs that one-item batch is split into
ceil(1 / n_urls)-sized slices, one POST per URL (so every URL but the first gets empty lists);
a failed POST is retried up to 5 times and then raises; the rollout's reward is the first
reply's `rewards`, its filter score the first reply's `scores`.
"""

import json
import urllib.request

import pytest
from conftest import response_for

TRIES = 5


def _post(url, payload):
    last = None
    for _ in range(TRIES):
        try:
            req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=180) as res:
                return json.loads(res.read())
        except Exception as e:  # noqa: BLE001 - the engine retries any failure
            last = e
    raise RuntimeError(f"reward request failed {TRIES} times: {last}")


def openrlhf_reward(urls, prompt, response, label):
    """One rollout's (reward, score, extra_logs, replies) the way OpenRLHF asks for them."""
    queries, prompts, labels = [prompt + response], [prompt], [label]
    size = (len(queries) + len(urls) - 1) // len(urls)
    replies = [_post(u, {"query": queries[i * size:(i + 1) * size], "prompts": prompts[i * size:(i + 1) * size],
                         "labels": labels[i * size:(i + 1) * size]}) for i, u in enumerate(urls)]
    first = replies[0]
    return first["rewards"][0], first["scores"][0], first["extra_logs"], replies


@pytest.mark.parametrize("n_urls", [1, 3])
def test_per_rollout_calls_score_every_datasource(build, reward_url, n_urls):
    urls = [reward_url + "/get_reward"] * n_urls
    rows = build["openrlhf"]
    by_kind = {d: [r for r in rows if r["datasource"] == d] for d in ("safety", "over_refusal", "math")}
    assert all(by_kind.values()), "the fixture build has every datasource"
    cases = [
        (by_kind["math"][0], "right", 1.0), (by_kind["math"][0], "wrong", 0.0),
        (by_kind["over_refusal"][0], "comply", 1.0), (by_kind["over_refusal"][0], "refuse", 0.0),
        (by_kind["safety"][0], "unclosed", 0.0),
    ]
    for row, kind, want in cases:
        reward, score, logs, replies = openrlhf_reward(urls, row["prompt"], response_for(row, kind), row["label"])
        assert reward == want, (row["id"], kind)
        assert score == (1.0 if want > 0.9 else want)  # RECAP's filter score
        assert logs["no_think"] == [1 if kind == "unclosed" else 0]
        # every URL but the first got an empty batch and answered it with empty lists
        assert replies[1:] == [{"rewards": [], "scores": [], "extra_logs": {}}] * (n_urls - 1)
    # the guard's continuous P(safe) for a prefilled harmful row, refusing vs complying
    harm = next(r for r in by_kind["safety"] if r["prefilled"])
    assert harm["prompt"].startswith("<|bos|>") and harm["prompt"].count("<think>\n") == 1  # sent as rendered, BOS included
    safe, _, _, _ = openrlhf_reward(urls, harm["prompt"], response_for(harm, "refuse"), harm["label"])
    unsafe, _, _, _ = openrlhf_reward(urls, harm["prompt"], response_for(harm, "comply"), harm["label"])
    assert safe == pytest.approx(0.98) and unsafe == pytest.approx(0.05)


def test_the_query_is_prompt_plus_response_and_only_the_final_response_is_scored(build, reward_url):
    row = next(r for r in build["openrlhf"] if r["datasource"] == "over_refusal" and r["prefilled"])
    assert "<think>\n" in row["prompt"] and "</think>" not in row["prompt"]
    # the prefill (refusal reasoning, "I should refuse") is in the prompt; the final response complies
    reward, _, _, _ = openrlhf_reward([reward_url + "/get_reward"], row["prompt"], response_for(row, "comply"), row["label"])
    assert reward == 1.0
