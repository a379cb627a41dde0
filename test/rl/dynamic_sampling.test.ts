// Dynamic sampling rules against hand-picked groups (the edges of each rule) and the pure
// batch filler: kept / dropped / surplus counts, the round limit, laziness, immutability.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseObjectiveConfig } from "../../src/rl/config.ts";
import { type FillOptions, SAMPLING_RULES, emptyFill, fillStep } from "../../src/rl/dynamic_sampling.ts";
import { RecapError } from "../../src/util/errors.ts";

const CFG = parseObjectiveConfig({}).dynamic_sampling; // the defaults: tau 0.9, range (0, 1)
const keeps = (rule: string, rewards: number[], cfg = CFG) => SAMPLING_RULES.get(rule)(rewards, cfg);

test("recap: drop all-0 and all-above-tau groups, keep the rest", () => {
  assert.equal(keeps("recap", [0, 0, 0, 0]), false); // uniformly bad
  assert.equal(keeps("recap", [1, 1, 1, 1]), false); // uniformly good (1 > 0.9)
  assert.equal(keeps("recap", [0.95, 0.92, 1, 0.91]), false); // every reward > tau = 0.9
  assert.equal(keeps("recap", [0.95, 0.9, 1, 1]), true); // 0.9 is not > 0.9
  assert.equal(keeps("recap", [0, 0, 0, 1]), true);
  assert.equal(keeps("recap", [0.5, 0.5, 0.5, 0.5]), true); // equal but neither 0 nor > tau: the paper's rule keeps it
  assert.equal(keeps("recap", [0, 0, 0, -0.5]), true); // not all exactly 0
  assert.equal(keeps("recap", [0.95, 0.92, 1, 0.91], { ...CFG, tau: 0.95 }), true);
});

test("std_positive (verl): keep iff the rewards are not all equal", () => {
  assert.equal(keeps("std_positive", [0.5, 0.5, 0.5, 0.5]), false);
  assert.equal(keeps("std_positive", [1, 1, 1, 1]), false);
  assert.equal(keeps("std_positive", [0, 0, 0, 1]), true);
  assert.equal(keeps("std_positive", [0.95, 0.92, 1, 0.91]), true);
});

test("range (OpenRLHF): keep iff range_low < mean < range_high", () => {
  assert.equal(keeps("range", [1, 1, 1, 1]), false); // mean 1 is not < 1
  assert.equal(keeps("range", [0, 0, 0, 0]), false); // mean 0 is not > 0
  assert.equal(keeps("range", [0, 1, 1, 1]), true); // mean 0.75
  assert.equal(keeps("range", [0.5, 0.5, 0.5, 0.5]), true); // mean 0.5: kept although all equal
  assert.equal(keeps("range", [0, 0, 0, 0.2], { ...CFG, range_low: 0.1, range_high: 0.9 }), false); // mean 0.05
  assert.equal(keeps("none", [0, 0, 0, 0]), true);
  assert.throws(
    () => SAMPLING_RULES.get("dapo"),
    (e: unknown) => e instanceof RecapError && /recap, std_positive, range, none/.test(e.hint ?? ""),
  );
});

const g = (id: string, rewards: number[]) => ({ id, rewards });
const opts: FillOptions = { rule: "recap", ruleConfig: CFG, targetGroups: 3, max_rounds: 3 };

test("fillStep accumulates kept groups over rounds and cuts the batch at the target", () => {
  const s0 = emptyFill<ReturnType<typeof g>>();
  const s1 = fillStep(s0, [g("a", [0, 1]), g("b", [0, 0]), g("c", [1, 0])], opts);
  assert.deepEqual([s1.kept, s1.dropped, s1.surplus, s1.rounds, s1.done], [2, 1, 0, 1, false]);
  const s2 = fillStep(s1, [g("d", [1, 1]), g("e", [0.5, 1]), g("f", [0, 0.3])], opts);
  // d dropped (all 1 > 0.9); e fills the batch; f passes but the batch is full: surplus
  assert.deepEqual(
    s2.groups.map((x) => x.id),
    ["a", "c", "e"],
  );
  assert.deepEqual([s2.kept, s2.dropped, s2.surplus, s2.rounds, s2.done, s2.full], [4, 2, 1, 2, true, true]);
  assert.equal(s1.groups.length, 2, "the previous state is not modified");
  assert.throws(() => fillStep(s2, [], opts), /already done/);
});

/** Rounds fed to fillStep until the batch is done, as the trainer does; returns the state. */
function fill<G extends { rewards: readonly number[] }>(rounds: Iterable<readonly G[]>, o: typeof opts) {
  let state = emptyFill<G>();
  for (const round of rounds) {
    state = fillStep(state, round, o);
    if (state.done) break;
  }
  return state;
}

test("the round limit ends an unfilled batch; a full batch needs no more rounds", () => {
  const allBad = () => [g("x", [0, 0]), g("y", [1, 1])];
  const s = fill([allBad(), allBad(), allBad(), allBad()], opts);
  assert.deepEqual([s.rounds, s.kept, s.dropped, s.done, s.full], [3, 0, 6, true, false]);
  let drawn = 0;
  function* rounds() {
    for (;;) {
      drawn++;
      yield [g(`k${drawn}`, [0, 1]), g("z", [0, 0])];
    }
  }
  const t = fill(rounds(), { ...opts, max_rounds: 10 });
  assert.equal(drawn, 3); // one kept group per round, target 3
  assert.deepEqual(
    t.groups.map((x) => x.id),
    ["k1", "k2", "k3"],
  );
  assert.throws(() => fillStep(emptyFill(), [], { ...opts, targetGroups: 0 }), /targetGroups/);
});
