// The adaptive prefill curriculum's pure parts: the controller's rule at every branch, the
// config's checks, and the per-draw prefill decision. (Its prompts and a run with it on are
// tested in test/train/rl.test.ts, on that file's micro world.)
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type CurriculumConfig,
  type CurriculumState,
  curriculumConfigSchema,
  drawsPrefill,
  initialCurriculum,
  nextCurriculum,
  parseCurriculumState,
} from "../../src/train/curriculum.ts";
import { TrainConfigSchema } from "../../src/train/rl_config.ts";
import { curriculumMetrics, recoveryRate } from "../../src/train/rl_metrics.ts";
import type { RolloutGroup } from "../../src/train/rollout.ts";
import { validateConfig } from "../../src/util/config_file.ts";

const cur = (extra: Record<string, unknown> = {}): CurriculumConfig =>
  curriculumConfigSchema.parse({ window: 1, ...extra });
const at = (level: number, alpha: number, history: (number | null)[] = []): CurriculumState => ({
  level,
  alpha,
  history,
});
const step = (s: CurriculumState, rate: number | null, c: CurriculumConfig) => {
  const n = nextCurriculum(s, rate, c);
  return [n.level, n.alpha];
};

test("defaults are the documented ones; the run starts at start_level and recap.alpha", () => {
  const c = curriculumConfigSchema.parse({});
  assert.deepEqual(c, {
    levels: [20, 40, 60],
    start_level: 0,
    alpha_min: 0.25,
    alpha_max: 0.75,
    alpha_step: 0.125,
    low: 0.2,
    high: 0.5,
    window: 5,
  });
  assert.deepEqual(initialCurriculum({ ...c, start_level: 2 }, 0.5), at(2, 0.5));
});

test("a high rate makes prefills harder: one level up, then alpha up at the top, capped at alpha_max", () => {
  const c = cur();
  assert.deepEqual(step(at(0, 0.5), 0.5, c), [1, 0.5]); // at `high` counts as high
  assert.deepEqual(step(at(1, 0.5), 0.9, c), [2, 0.5]);
  assert.deepEqual(step(at(2, 0.5), 0.9, c), [2, 0.625]);
  assert.deepEqual(step(at(2, 0.7), 0.9, c), [2, 0.75]); // capped
  assert.deepEqual(step(at(2, 0.75), 0.9, c), [2, 0.75]);
});

test("a low rate makes prefills easier: one level down, then alpha down at the bottom, floored at alpha_min", () => {
  const c = cur();
  assert.deepEqual(step(at(2, 0.5), 0.1, c), [1, 0.5]);
  assert.deepEqual(step(at(1, 0.5), 0, c), [0, 0.5]);
  assert.deepEqual(step(at(0, 0.5), 0, c), [0, 0.375]);
  assert.deepEqual(step(at(0, 0.3), 0, c), [0, 0.25]); // floored
  assert.deepEqual(step(at(0, 0.25), 0, c), [0, 0.25]);
  assert.deepEqual(step(at(1, 0.5), 0.2, c), [1, 0.5]); // at `low` is inside the band
});

test("inside the band, or with no prefilled rollouts, nothing changes", () => {
  const c = cur();
  for (const r of [0.2, 0.35, 0.4999, null]) assert.deepEqual(step(at(1, 0.5), r, c), [1, 0.5], `rate ${r}`);
});

test("a change waits for `window` steps since the last one, judged on their mean; a change empties the history", () => {
  const c = cur({ window: 3 });
  let s = at(1, 0.5);
  s = nextCurriculum(s, 0.9, c);
  s = nextCurriculum(s, 0.9, c);
  assert.deepEqual(s, at(1, 0.5, [0.9, 0.9]), "two steps of evidence are not enough");
  s = nextCurriculum(s, 0, c); // mean 0.6 >= high
  assert.deepEqual(s, at(2, 0.5, []));
  s = nextCurriculum(nextCurriculum(s, 0, c), 0, c);
  assert.deepEqual([s.level, s.history.length], [2, 2], "fresh evidence is needed after a change");
  s = nextCurriculum(s, 0.3, c); // mean 0.1 < low
  assert.deepEqual(s, at(1, 0.5, []));
  // In the band the window slides: the oldest rate leaves it.
  s = nextCurriculum(nextCurriculum(nextCurriculum(s, 0.3, c), 0.3, c), 0.3, c);
  assert.deepEqual(s, at(1, 0.5, [0.3, 0.3, 0.3]));
  s = nextCurriculum(s, 0.95, c); // window [0.3, 0.3, 0.95]: mean 0.517
  assert.deepEqual(s, at(2, 0.5, []));
  // Steps without prefilled rollouts count as steps but carry no evidence.
  assert.deepEqual(nextCurriculum(at(1, 0.5, [null, null]), 0.9, c), at(2, 0.5, []));
  assert.deepEqual(nextCurriculum(at(1, 0.5, [null, null]), null, c), at(1, 0.5, [null, null, null]));
});

test("a saved state round-trips through JSON and a malformed one is refused", () => {
  const c = cur({ window: 3 });
  const s = at(2, 0.625, [0.25, null]);
  assert.deepEqual(parseCurriculumState(JSON.parse(JSON.stringify(s)), c), s);
  assert.throws(() => parseCurriculumState(undefined, c), /no valid curriculum state/);
  assert.throws(() => parseCurriculumState({ level: 3, alpha: 0.5, history: [] }, c), /no valid curriculum state/);
  assert.throws(() => parseCurriculumState({ level: 0, alpha: "x", history: [] }, c), /no valid curriculum state/);
});

test("the per-draw decision is a function of (seed, position), at rate alpha, nested in alpha", () => {
  const n = 4000;
  const draws = (seed: number, alpha: number) => Array.from({ length: n }, (_, pos) => drawsPrefill(seed, pos, alpha));
  const a = draws(7, 0.5);
  assert.deepEqual(draws(7, 0.5), a, "same seed and positions: same decisions");
  assert.notDeepEqual(draws(8, 0.5), a, "another seed: other decisions");
  for (const alpha of [0.25, 0.5, 0.75]) {
    const share = draws(7, alpha).filter(Boolean).length / n;
    assert.ok(Math.abs(share - alpha) < 0.03, `alpha ${alpha}: prefilled share ${share}`);
  }
  const lo = draws(7, 0.25),
    hi = draws(7, 0.75);
  assert.ok(
    lo.every((p, i) => !p || hi[i]),
    "raising alpha only adds prefilled draws",
  );
  assert.ok(draws(7, 0).every((p) => !p) && draws(7, 1).every(Boolean));
});

const train = (extra: Record<string, unknown>) =>
  validateConfig({ world: "w", base: "b", steps: 1, ...extra }, TrainConfigSchema, "t");

test("curriculum config errors name the field and say what to do", () => {
  const bad = (extra: Record<string, unknown>, re: RegExp) => assert.throws(() => train(extra), re);
  bad({ curriculum: { levels: [20, 20, 60] } }, /curriculum\.levels: levels must be strictly ascending/);
  bad({ curriculum: { levels: [40, 20] } }, /curriculum\.levels: levels must be strictly ascending/);
  bad({ curriculum: { levels: [0, 20] } }, /curriculum\.levels/);
  bad({ curriculum: { levels: [] } }, /curriculum\.levels/);
  bad(
    { curriculum: { start_level: 3 } },
    /curriculum\.start_level: start_level 3 is not an index of levels \(0\.\.2\)/,
  );
  bad({ curriculum: { low: 0.5, high: 0.5 } }, /curriculum\.high: the band needs low < high/);
  bad(
    { curriculum: { alpha_min: 0.8, alpha_max: 0.6 }, recap: { alpha: 0.7 } },
    /curriculum\.alpha_max: alpha_min 0\.8 exceeds alpha_max 0\.6/,
  );
  bad({ curriculum: { alpha_step: 0 } }, /curriculum\.alpha_step/);
  bad({ curriculum: { window: 0 } }, /curriculum\.window/);
  bad({ curriculum: { speed: 1 } }, /curriculum/);
  bad(
    { curriculum: {}, recap: { alpha: 0.9 } },
    /recap\.alpha: the curriculum starts at recap\.alpha 0\.9, outside \[alpha_min 0\.25, alpha_max 0\.75\]/,
  );
  bad(
    { curriculum: {}, recap_enabled: false },
    /curriculum: the curriculum schedules RECAP prefills: set recap_enabled: true/,
  );
  bad({ curriculum: {}, recap: { aligned: true } }, /curriculum: .*set recap\.aligned: false/);
  bad(
    { curriculum: {}, recap: { math_alpha: 0.5 } },
    /recap\.math_alpha: the curriculum schedules only the safety \/ over-refusal prefills.*set recap\.math_alpha to 0/,
  );
});

test("absent = off: the resolved config has no curriculum key; present = its defaults filled in", () => {
  assert.ok(!("curriculum" in train({})));
  assert.equal(JSON.stringify(train({})).includes("curriculum"), false);
  assert.deepEqual(train({ curriculum: { window: 2 } }).curriculum, { ...curriculumConfigSchema.parse({}), window: 2 });
});

test("the recovery rate averages every prefilled rollout generated, dropped groups included", () => {
  const group = (prefilled: boolean, rewards: number[]) =>
    ({
      prompt: { prefillIds: prefilled ? [1, 2] : [] },
      rollouts: rewards.map((r) => ({ rawReward: r, reward: r })),
      rewards,
    }) as unknown as RolloutGroup;
  const kept = group(true, [1, 0.5]),
    dropped = group(true, [0, 0]),
    clean = group(false, [1, 1]);
  assert.equal(recoveryRate({ all: [kept, dropped, clean] }), 0.375);
  assert.equal(recoveryRate({ all: [clean] }), null);
  const c = curriculumConfigSchema.parse({});
  assert.deepEqual(curriculumMetrics(at(1, 0.625), 0.375, c), {
    "curriculum/level": 1,
    "curriculum/l_pre": 40,
    "curriculum/alpha": 0.625,
    "curriculum/recovery": 0.375,
  });
  assert.deepEqual(Object.keys(curriculumMetrics(at(0, 0.5), null, c)), [
    "curriculum/level",
    "curriculum/l_pre",
    "curriculum/alpha",
  ]);
});
