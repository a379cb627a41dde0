"""TRL GRPO reward function for RECAP: completions scored by `recap reward serve`.

Standard library only. Tested in integrations/tests/ (stand-ins of the engine's call, a live
`recap reward serve`).

    from datasets import load_dataset
    from trl import GRPOConfig, GRPOTrainer
    from integrations.trl_reward import recap_reward

    data = load_dataset("json", data_files="out/trl.jsonl", split="train")  # from `recap data build`
    trainer = GRPOTrainer(model=POLICY, reward_funcs=recap_reward, train_dataset=data, args=GRPOConfig(...))

TRL calls a reward function with the prompts, the completions (the generated text only) and every
other dataset column as a keyword argument; `recap data build` writes `label` (the reward server's
JSON label) and `datasource`. The string prompts are already rendered with the policy's chat
template, prefill included, so TRL uses them as they are (no chat template applied).
Environment: RECAP_REWARD_URL (default http://127.0.0.1:5000), RECAP_REWARD_API_KEY.
"""

import json
import os
import urllib.request

URL = os.environ.get("RECAP_REWARD_URL", "http://127.0.0.1:5000").rstrip("/") + "/v1/reward"
API_KEY = os.environ.get("RECAP_REWARD_API_KEY")


def recap_reward(prompts, completions, label, datasource, **kwargs):
    items = [{"response": c, "label": l, "datasource": d} for c, l, d in zip(completions, label, datasource)]
    headers = {"content-type": "application/json"}
    if API_KEY:
        headers["authorization"] = "Bearer " + API_KEY
    req = urllib.request.Request(URL, data=json.dumps({"items": items}).encode("utf-8"), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=600) as res:
        return [float(r) for r in json.loads(res.read().decode("utf-8"))["rewards"]]
