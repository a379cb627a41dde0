"""verl reward hook for RECAP: every rollout is scored by `recap reward serve`.

Standard library only. Tested in integrations/tests/ (stand-ins of the engine's call, a live
`recap reward serve`).

    recap reward serve --config reward.yaml --port 5000          # guard, rubric judge, math
    cd "$VERL" && PYTHONPATH="$RECAP" python3 -m recipe.dapo.main_dapo ... \
        custom_reward_function.path="$RECAP/integrations/verl_reward.py" \
        custom_reward_function.name=compute_score \
        algorithm.filter_groups.enable=True \
        algorithm.filter_groups.metric=recap_filter

(from the verl root, with absolute paths: the full command is in docs/SCALING.md).

verl calls compute_score(data_source, solution_str, ground_truth, extra_info) once per rollout:
`solution_str` is the decoded response only (the prompt, and so the prefill, excluded),
`ground_truth` is reward_model.ground_truth of the row, which `recap data build` fills with the
reward server's JSON label, and `data_source` is the route (safety / over_refusal / math).
The server splits the response at the last </think> and scores only what follows.

It returns a dict: verl uses "score" as the reward and keeps the other keys as per-rollout
metrics; "recap_filter" is 1 when the reward is above the server's tau, else the reward, so
verl's group filter (keep a group iff the metric's std > 0) drops the groups RECAP drops (all 0,
or all > tau), and also groups whose rewards are all equal, which carry no advantage anyway.

Environment: RECAP_REWARD_URL (default http://127.0.0.1:5000), RECAP_REWARD_API_KEY (optional),
RECAP_REWARD_TIMEOUT seconds (default 300). A failed call raises: a silent 0 would train on a
missing reward.
"""

import json
import os
import time
import urllib.error
import urllib.request

URL = os.environ.get("RECAP_REWARD_URL", "http://127.0.0.1:5000").rstrip("/") + "/v1/reward"
API_KEY = os.environ.get("RECAP_REWARD_API_KEY")
TIMEOUT = float(os.environ.get("RECAP_REWARD_TIMEOUT", "300"))
RETRIES = 5


def _post(body):
    headers = {"content-type": "application/json"}
    if API_KEY:
        headers["authorization"] = "Bearer " + API_KEY
    data = json.dumps(body).encode("utf-8")
    for attempt in range(RETRIES):
        try:
            req = urllib.request.Request(URL, data=data, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
                return json.loads(res.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            if e.code < 500 or attempt == RETRIES - 1:  # 4xx: the request itself is wrong
                raise RuntimeError(f"recap reward server {URL}: HTTP {e.code}: {detail}") from e
        except (urllib.error.URLError, TimeoutError) as e:
            if attempt == RETRIES - 1:
                raise RuntimeError(f"recap reward server {URL} unreachable: {e} (is `recap reward serve` running?)") from e
        time.sleep(2**attempt)


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    item = {"response": solution_str, "label": ground_truth, "datasource": data_source}
    if extra_info and extra_info.get("user_prompt"):
        item["prompt"] = extra_info["user_prompt"]
    result = _post({"items": [item]})["results"][0]
    return {
        "score": float(result["reward"]),
        "recap_filter": float(result["score"]),
        "no_think": 1.0 if result.get("reason") else 0.0,
    }
