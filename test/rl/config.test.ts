// The objective config schema: defaults (paper values) and one-line errors naming the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseObjectiveConfig } from "../../src/rl/config.ts";
import { RecapError } from "../../src/util/errors.ts";

test("defaults: group_norm, dapo 0.2 / 0.28 token-mean, recap rule tau 0.9, no overlong buffer", () => {
  const c = parseObjectiveConfig({});
  assert.deepEqual(c.advantage, { estimator: "group_norm", eps: 1e-6 });
  assert.deepEqual(c.loss, { name: "dapo", epsLow: 0.2, epsHigh: 0.28, dualClipC: null, aggregation: "token-mean" });
  assert.deepEqual(c.dynamicSampling, { rule: "recap", tau: 0.9, rangeLow: 0, rangeHigh: 1, maxRounds: 4 });
  assert.deepEqual(c.overlong, { bufferLen: 0, factor: 1 });
  assert.deepEqual(parseObjectiveConfig({ loss: { name: "grpo" } }).loss, { name: "grpo", eps: 0.2, klBeta: 0, aggregation: "seq-mean-token-mean" });
});

test("bad values fail with the field's path", () => {
  const fails = (raw: unknown, re: RegExp) =>
    assert.throws(() => parseObjectiveConfig(raw), (e: unknown) => e instanceof RecapError && re.test(e.message) && !e.message.includes("\n"));
  fails({ loss: { name: "ppo" } }, /field loss\.name: unknown policy loss "ppo": valid names are dapo, grpo/);
  fails({ loss: { name: "dapo", epsHigh: 0.1 } }, /field loss\.epsHigh: .*epsHigh >= epsLow/);
  fails({ loss: { name: "dapo", aggregation: "seq-mean-token-sum-norm" } }, /field loss\.normLen/);
  fails({ loss: { name: "grpo", klBeta: -1 } }, /field loss\.klBeta/);
  fails({ advantage: { estimator: "gae" } }, /field advantage\.estimator: .*group_norm, dr_grpo/);
  fails({ dynamicSampling: { rule: "verl" } }, /field dynamicSampling\.rule: .*recap, std_positive, range, none/);
  fails({ dynamicSampling: { rangeLow: 1, rangeHigh: 0 } }, /field dynamicSampling\.rangeHigh/);
  fails({ overlong: { bufferLen: -4 } }, /field overlong\.bufferLen/);
  fails({ lr: 1 }, /Unrecognized key/);
});
