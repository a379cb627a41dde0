// Judge timeouts and retries must fit inside OpenRLHF's 180 s per reward call (issue 18 item 6):
// the defaults' worst case (every attempt timing out, the longest backoffs) is under it, and
// `recap reward serve` warns at start about a config whose judge can outlast it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JudgeConfigSchema, OPENRLHF_CALL_TIMEOUT_MS, RewardServerConfigSchema, judgeWorstCaseMs } from "../../src/reward/config.ts";

test("a judge's default timeout and retries fit inside OpenRLHF's 180 s per call", () => {
  const j = JudgeConfigSchema.parse({ url: "http://127.0.0.1:1", model: "judge" });
  let worst = (j.retries + 1) * j.timeout_ms;
  for (let i = 0; i < j.retries; i++) worst += Math.min(20_000, j.backoff_ms * 2 ** i);
  assert.ok(worst < 180_000, `worst case ${worst} ms`);
  assert.equal(judgeWorstCaseMs(j), worst);
  assert.equal(OPENRLHF_CALL_TIMEOUT_MS, 180_000);
  const cfg = RewardServerConfigSchema.parse({ safety: { endpoint: { url: "http://127.0.0.1:1", model: "guard" } }, over_refusal: { endpoint: { url: "http://127.0.0.1:1", model: "judge" } } });
  assert.ok(judgeWorstCaseMs(cfg.safety!.endpoint) < 180_000 && judgeWorstCaseMs(cfg.over_refusal!.endpoint) < 180_000);
  assert.equal(judgeWorstCaseMs({ timeout_ms: 120_000, retries: 4, backoff_ms: 500 }), 5 * 120_000 + 500 + 1000 + 2000 + 4000);
});
