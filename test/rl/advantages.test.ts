// Advantage estimators against hand arithmetic: group_norm with the sample std (n - 1), dr_grpo
// without the std, group ids in any order, broadcast to the optimised tokens only, bad groups.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ADVANTAGE_ESTIMATORS } from "../../src/rl/advantages.ts";
import { parseObjectiveConfig } from "../../src/rl/config.ts";
import { RecapError } from "../../src/util/errors.ts";

const closeAll = (a: ArrayLike<number>, b: number[], tol = 1e-5) => {
  assert.equal(a.length, b.length);
  b.forEach((x, i) => assert.ok(Math.abs(a[i]! - x) <= tol, `element ${i}: ${a[i]} vs ${x}`));
};
const cfg = parseObjectiveConfig({}).advantage; // the default eps 1e-6
// G = 4, two groups; T = 1 with every position optimised unless said otherwise.
const rewards = [1, 0, 0, 1, 1, 0.5, 0, 0.5];
const ones = (n: number) => new Float32Array(n).fill(1);

test("group_norm: (r - mean) / (sample std + 1e-6)", () => {
  // group 0: mean 0.5, deviations +-0.5, sum sq 1, sample var 1/3, std 0.577350 -> +-0.866025
  //   (the population std 0.5 would give +-1)
  // group 1: mean 0.5, deviations 0.5, 0, -0.5, 0, sum sq 0.5, var 1/6, std 0.408248 -> +-1.224745
  const r = ADVANTAGE_ESTIMATORS.get("group_norm")({ rewards, groupSize: 4, mask: ones(8), T: 1 }, cfg);
  closeAll(r.seqAdvantages, [0.866025, -0.866025, -0.866025, 0.866025, 1.224745, 0, -1.224745, 0]);
  assert.equal(r.metrics["critic/rewards/mean"], 0.5);
});

test("dr_grpo: r - mean, no std", () => {
  const r = ADVANTAGE_ESTIMATORS.get("dr_grpo")({ rewards, groupSize: 4, mask: ones(8), T: 1 }, cfg);
  closeAll(r.seqAdvantages, [0.5, -0.5, -0.5, 0.5, 0.5, 0, -0.5, 0]);
});

test("group ids in any order; equal rewards give 0", () => {
  // group "a" = rows 0, 2: rewards 1, 0 -> mean 0.5, sample std sqrt(0.5) = 0.707107 -> +-0.707107
  // group "b" = rows 1, 3: rewards 2, 4 -> mean 3, sample std sqrt(2) = 1.414214 -> -+0.707107
  // group "c" = rows 4, 5: rewards 0.3, 0.3 -> 0 (std 0, eps keeps it finite)
  const r = ADVANTAGE_ESTIMATORS.get("group_norm")(
    { rewards: [1, 2, 0, 4, 0.3, 0.3], groupIds: ["a", "b", "a", "b", "c", "c"], mask: ones(6), T: 1 },
    cfg,
  );
  closeAll(r.seqAdvantages, [0.707107, -0.707107, -0.707107, 0.707107, 0, 0]);
});

test("broadcast: each rollout's advantage on its optimised tokens, 0 elsewhere", () => {
  // B = 2 (one group), rewards 1, 0 -> +-0.707107; T = 4, masks [0 1 1 0] and [0 0 0 1]
  const mask = new Float32Array([0, 1, 1, 0, 0, 0, 0, 1]);
  const r = ADVANTAGE_ESTIMATORS.get("group_norm")({ rewards: [1, 0], groupSize: 2, mask, T: 4 }, cfg);
  closeAll(r.advantages, [0, 0.707107, 0.707107, 0, 0, 0, 0, -0.707107]);
  assert.ok(Math.abs(r.metrics["critic/advantages/mean"]! - (0.707107 * 2 - 0.707107) / 3) < 1e-5);
  assert.ok(Math.abs(r.metrics["critic/advantages/min"]! + 0.707107) < 1e-5);
});

test("bad groups and names are refused with a RecapError", () => {
  const f = ADVANTAGE_ESTIMATORS.get("group_norm");
  assert.throws(() => f({ rewards: [1, 0, 1], groupSize: 2, mask: ones(3), T: 1 }, cfg), /does not divide/);
  assert.throws(() => f({ rewards: [1, 0], groupSize: 1, mask: ones(2), T: 1 }, cfg), /a group has 1 rollout/);
  assert.throws(() => f({ rewards: [1, 0], mask: ones(2), T: 1 }, cfg), /exactly one of groupSize and groupIds/);
  assert.throws(() => f({ rewards: [1, NaN], groupSize: 2, mask: ones(2), T: 1 }, cfg), /finite/);
  assert.throws(
    () => ADVANTAGE_ESTIMATORS.get("gae"),
    (e: unknown) => e instanceof RecapError && /group_norm, dr_grpo/.test(e.hint ?? ""),
  );
});
