// docs/SCALING.md's verl command, checked against what verl v0.7.0 reads (facts from its sources,
// recorded in the doc): the overlong penalty through the reward loop's DAPO manager
// (`+reward_model.reward_kwargs.overlong_buffer_cfg.*`, `+reward_model.reward_kwargs.max_resp_len`,
// max_resp_len = data.max_response_length >= len), not the legacy `reward_model.overlong_buffer.*`;
// and a command that starts from the verl root (`cd "$VERL"`, the recap checkout on PYTHONPATH,
// every file argument absolute). Also: no promise that several OpenRLHF URLs balance load.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const doc = readFileSync(new URL("../../docs/SCALING.md", import.meta.url), "utf8");

/** The bash block that runs recipe.dapo.main_dapo, as one line of arguments. */
function verlBlock(): string {
  const blocks = [...doc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const b = blocks.filter((x) => x.includes("recipe.dapo.main_dapo"));
  assert.equal(b.length, 1, "exactly one verl command block");
  return b[0]!;
}

function flags(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const tok of block.replace(/\\\n/g, " ").split(/\s+/)) {
    const m = /^(\+?[a-z_][\w.]*)=(.*)$/.exec(tok);
    if (m && m[1]!.includes(".")) out.set(m[1]!, m[2]!);
  }
  return out;
}

test("verl: the overlong penalty goes through reward_kwargs, the keys the reward loop's DAPO manager reads", () => {
  const f = flags(verlBlock());
  assert.ok(
    ![...f.keys()].some((k) => k.replace(/^\+/, "").startsWith("reward_model.overlong_buffer.")),
    "no legacy reward_model.overlong_buffer.* flags",
  );
  assert.equal(f.get("reward_model.reward_manager"), "dapo");
  const cfg = "+reward_model.reward_kwargs.overlong_buffer_cfg.";
  assert.equal(f.get(cfg + "enable"), "True");
  const len = Number(f.get(cfg + "len")),
    factor = Number(f.get(cfg + "penalty_factor"));
  const maxResp = Number(f.get("+reward_model.reward_kwargs.max_resp_len"));
  assert.ok(len > 0 && factor > 0, `len ${len}, penalty_factor ${factor}`);
  assert.ok(f.has(cfg + "log"), "log is set (the manager reads it when enabled)");
  assert.equal(maxResp, Number(f.get("data.max_response_length")), "max_resp_len = data.max_response_length");
  assert.ok(maxResp >= len, "verl asserts max_resp_len >= len");
  // the hyperparameter table names the same flags
  const row = doc.split("\n").find((l) => l.startsWith("| overlong reward shaping"))!;
  assert.match(row, /reward_model\.reward_kwargs\.overlong_buffer_cfg/);
  assert.doesNotMatch(row, /reward_model\.overlong_buffer\./);
});

test("verl: the command runs from the verl root with PYTHONPATH and absolute paths", () => {
  const block = verlBlock();
  const lines = block.split("\n");
  const abs = (name: string) => new RegExp(`^${name}=(/\\S*)`, "m").exec(block)?.[1];
  assert.ok(abs("RECAP")?.startsWith("/"), "RECAP is set to an absolute path");
  assert.ok(abs("VERL")?.startsWith("/"), "VERL is set to an absolute path");
  const cd = lines.findIndex((l) => /^cd "\$VERL"\s*$/.test(l));
  const run = lines.findIndex((l) => l.includes("python3 -m recipe.dapo.main_dapo"));
  assert.ok(cd >= 0 && cd < run, "cd into the verl root before running the recipe");
  assert.match(block, /PYTHONPATH="\$RECAP[^"]*"/, "the recap checkout is on PYTHONPATH");
  const f = flags(block);
  for (const key of [
    "data.train_files",
    "data.val_files",
    "actor_rollout_ref.rollout.agent.agent_loop_config_path",
    "custom_reward_function.path",
  ]) {
    const v = f.get(key);
    assert.ok(v !== undefined, `${key} is given`);
    assert.match(v!, /^"\$RECAP\//, `${key} is absolute (under $RECAP): ${v}`);
  }
  assert.equal(f.get("actor_rollout_ref.rollout.mode"), "async", "agent loops need async rollout");
  assert.equal(f.get("algorithm.filter_groups.metric"), "recap_filter");
});

test("OpenRLHF: several comma-separated reward URLs are not promised to balance load", () => {
  assert.doesNotMatch(doc, /comma-separated `--remote_rm_url`; it splits each batch across them/);
  assert.match(doc, /Several URLs therefore do not balance load/);
  assert.match(doc, /behind one load-balancing reverse proxy/);
});
