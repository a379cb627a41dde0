// The objective config schema: defaults (paper values) and one-line errors naming the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseObjectiveConfig } from "../../src/rl/config.ts";
import { RecapError } from "../../src/util/errors.ts";

test("defaults: group_norm, dapo 0.2 / 0.28 token-mean, recap rule tau 0.9, no overlong buffer", () => {
  const c = parseObjectiveConfig({});
  assert.deepEqual(c.advantage, { estimator: "group_norm", eps: 1e-6 });
  assert.deepEqual(c.loss, {
    name: "dapo",
    eps_low: 0.2,
    eps_high: 0.28,
    dual_clip_c: null,
    aggregation: "token-mean",
  });
  assert.deepEqual(c.dynamic_sampling, { rule: "recap", tau: 0.9, range_low: 0, range_high: 1, max_rounds: 4 });
  assert.deepEqual(c.overlong, { buffer_len: 0, factor: 1 });
  assert.deepEqual(parseObjectiveConfig({ loss: { name: "grpo" } }).loss, {
    name: "grpo",
    eps: 0.2,
    kl_beta: 0,
    aggregation: "seq-mean-token-mean",
  });
});

test("bad values fail with the field's path", () => {
  const fails = (raw: unknown, re: RegExp) =>
    assert.throws(
      () => parseObjectiveConfig(raw),
      (e: unknown) => e instanceof RecapError && re.test(e.message) && !e.message.includes("\n"),
    );
  fails({ loss: { name: "ppo" } }, /field loss\.name: unknown policy loss "ppo": valid names are dapo, grpo/);
  fails({ loss: { name: "dapo", eps_high: 0.1 } }, /field loss\.eps_high: .*eps_high >= eps_low/);
  fails({ loss: { name: "dapo", aggregation: "seq-mean-token-sum-norm" } }, /field loss\.norm_len/);
  fails({ loss: { name: "grpo", kl_beta: -1 } }, /field loss\.kl_beta/);
  fails({ advantage: { estimator: "gae" } }, /field advantage\.estimator: .*group_norm, dr_grpo/);
  fails({ dynamic_sampling: { rule: "verl" } }, /field dynamic_sampling\.rule: .*recap, std_positive, range, none/);
  fails({ dynamic_sampling: { range_low: 1, range_high: 0 } }, /field dynamic_sampling\.range_high/);
  fails({ overlong: { buffer_len: -4 } }, /field overlong\.buffer_len/);
  fails({ lr: 1 }, /Unrecognized key/);
});
