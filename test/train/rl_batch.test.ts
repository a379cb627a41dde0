// Micro-batches of an RL update (src/train/rl_batch.ts): rows sorted longest first, each chunk cut
// to its longest row, every rollout in exactly one micro-batch with the same tokens, mask,
// behaviour log-probs and advantages as in the whole minibatch's packing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { packMicroBatches, packUpdate } from "../../src/train/rl_batch.ts";
import { TrainConfigSchema } from "../../src/train/rl_config.ts";
import type { RolloutGroup } from "../../src/train/rollout.ts";
import { Rng } from "../../src/engine/rng.ts";

const G = 4;
const config = TrainConfigSchema.parse({ world: "w", base: "b", steps: 1, prompts_per_step: 3, group_size: G });

function groups(): RolloutGroup[] {
  const rng = new Rng(7);
  return Array.from({ length: 3 }, (_, g) => {
    const prompt = {
      promptIds: Array.from({ length: 3 + g }, () => 1 + rng.int(50)),
      prefillIds: g === 1 ? [5, 6, 7] : [],
    };
    const rollouts = Array.from({ length: G }, () => {
      const n = 1 + rng.int(12);
      return {
        prompt,
        generated: Array.from({ length: n }, () => 1 + rng.int(50)),
        logprobs: Array.from({ length: n }, () => -rng.uniform()),
        reward: rng.int(2),
      };
    });
    return { prompt, rollouts, rewards: rollouts.map((r) => r.reward) } as unknown as RolloutGroup;
  });
}

test("micro-batches: longest rows first, each cut to its longest row, every row once and unchanged", () => {
  const gs = groups();
  const full = packUpdate(gs, 0, config);
  const micro = packMicroBatches(gs, 0, config, 5);
  assert.deepEqual(
    micro.map((m) => m.B),
    [5, 5, 2],
  );
  const len = (r: { prompt: { promptIds: number[]; prefillIds: number[] }; generated: number[] }) =>
    r.prompt.promptIds.length + r.prompt.prefillIds.length + r.generated.length - 1;
  const rollouts = gs.flatMap((g) => g.rollouts);
  const seen = new Set<number>();
  let prevT = Infinity;
  for (const m of micro) {
    assert.ok(m.T <= prevT, `widths must not increase: ${m.T} after ${prevT}`);
    prevT = m.T;
    for (let b = 0; b < m.B; b++) {
      // Find the source row: the full packing's row with the same tokens, mask and advantages.
      const src = rollouts.findIndex(
        (r, i) =>
          !seen.has(i) &&
          len(r) <= m.T &&
          [...m.ids.subarray(b * m.T, (b + 1) * m.T)].every((x, t) => x === full.ids[i * full.T + t]),
      );
      assert.ok(src >= 0, "every micro-batch row is a row of the minibatch");
      seen.add(src);
      if (b === 0) assert.equal(m.T, len(rollouts[src]!), "a micro-batch is as wide as its first (longest) row");
      for (const key of ["targets", "mask", "oldLogp", "advantages"] as const) {
        assert.deepEqual(
          [...m[key].subarray(b * m.T, (b + 1) * m.T)],
          [...full[key].subarray(src * full.T, src * full.T + m.T)],
          key,
        );
        assert.ok(
          full[key].subarray(src * full.T + m.T, (src + 1) * full.T).every((x) => x === 0 || key === "targets"),
          `${key} beyond the cut is padding`,
        );
      }
    }
  }
  assert.equal(seen.size, rollouts.length, "every rollout is in one micro-batch");
  assert.ok(
    full.advantages.some((x) => x !== 0),
    "the fixture has non-zero advantages",
  );
});

test("micro_batch_groups names its replacement", () => {
  assert.throws(
    () => TrainConfigSchema.parse({ world: "w", base: "b", steps: 1, prompts_per_step: 2, micro_batch_groups: 4 }),
    /micro_batch_rows: 32 instead/,
  );
});
