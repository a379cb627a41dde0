// Metrics and statistics: Wilson against known values, the unbiased pass@k against brute-force
// subset enumeration and its stability at large n, the seeded bootstrap, J(beta) end points,
// reflection markers and thinking splits, and a whole cell summary from synthetic result lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { jCurve, summarize, summarizeCell } from "../../src/eval/metrics.ts";
import type { ResultLine, SampleRecord } from "../../src/eval/results.ts";
import { bootstrap, mean, meanCI, passAtK, passAtKCI, wilson } from "../../src/eval/stats.ts";
import { REFLECTION_MARKERS, findReflection, splitThinking } from "../../src/lm/thinking.ts";

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test("Wilson interval: known values, bounds, n = 0", () => {
  const a = wilson(5, 10);
  close(a.lo, 0.236593, 1e-5);
  close(a.hi, 0.763407, 1e-5);
  const b = wilson(0, 10);
  assert.equal(b.lo, 0);
  close(b.hi, 0.277533, 1e-5);
  const c = wilson(10, 10);
  close(c.lo, 0.722467, 1e-5);
  assert.equal(c.hi, 1);
  assert.ok(Number.isNaN(wilson(0, 0).value));
});

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

test("pass@k equals the subset definition and stays stable at large n", () => {
  for (let n = 1; n <= 8; n++)
    for (let c = 0; c <= n; c++)
      for (let k = 1; k <= n; k++) {
        // brute force: share of k-subsets of n samples holding at least one of the c correct ones
        let hit = 0,
          all = 0;
        for (let mask = 0; mask < 1 << n; mask++) {
          let bits = 0,
            good = false;
          for (let i = 0; i < n; i++)
            if (mask & (1 << i)) {
              bits++;
              if (i < c) good = true;
            }
          if (bits !== k) continue;
          all++;
          if (good) hit++;
        }
        close(passAtK(n, c, k), hit / all, 1e-12);
      }
  const v = passAtK(1000, 3, 500);
  close(v, 1 - choose(997, 500) / choose(1000, 500), 1e-9);
  assert.ok(v > 0 && v < 1 && Number.isFinite(passAtK(10000, 1, 5000)));
  assert.equal(passAtK(16, 0, 16), 0);
  assert.throws(() => passAtK(4, 1, 5), RangeError);
  const ci = passAtKCI(
    [
      { n: 4, c: 4 },
      { n: 4, c: 0 },
      { n: 4, c: 2 },
    ],
    1,
  );
  close(ci.value, 0.5, 1e-12);
  assert.ok(ci.lo <= ci.value && ci.value <= ci.hi);
});

test("bootstrap: seeded, brackets the mean, independent samples for J(beta)", () => {
  const xs = Array.from({ length: 50 }, (_, i) => (i * 37) % 11);
  const a = meanCI(xs, 3),
    b = meanCI(xs, 3),
    c = meanCI(xs, 4);
  assert.deepEqual(a, b);
  assert.notDeepEqual([a.lo, a.hi], [c.lo, c.hi]);
  assert.ok(a.lo < mean(xs) && mean(xs) < a.hi);
  assert.ok(a.hi - a.lo < 2.5, "a 95% interval of a mean of 50 values in 0..10 is narrow");
  const clean = [1, 1, 1, 0, 1, 1, 1, 1],
    pre = [0, 0, 1, 0, 0, 0, 0, 1];
  const pts = jCurve(clean, pre, 1);
  assert.equal(pts.length, 11);
  close(pts[0]!.value, mean(clean), 1e-12);
  close(pts[10]!.value, mean(pre), 1e-12);
  close(pts[5]!.value, (mean(clean) + mean(pre)) / 2, 1e-12);
  for (const p of pts) assert.ok(p.lo <= p.value + 1e-12 && p.value <= p.hi + 1e-12);
  const two = bootstrap(
    [
      [1, 2, 3],
      [10, 20],
    ],
    ([x, y]) => mean(x!) + mean(y!),
    0,
    200,
  );
  close(two.value, 17, 1e-12);
});

test("reflection markers (generated thinking only) and thinking splits", () => {
  assert.deepEqual(findReflection("so i will help. Wait, the object is a person. hold on."), {
    reflected: true,
    count: 2,
    first: { marker: "wait", at: 16 },
  });
  assert.equal(findReflection("the waiter awaits").reflected, false, "markers match whole words only");
  assert.equal(findReflection("On second thought, no.").first?.marker, "on second thought");
  assert.ok(REFLECTION_MARKERS.includes("hold on"));
  assert.deepEqual(splitThinking("<think>a b</think> resp<eos>"), { cot: "a b", response: "resp", closed: true });
  assert.deepEqual(splitThinking("<think>never closed"), { cot: "never closed", response: "", closed: false });
  assert.deepEqual(splitThinking("plain answer"), { cot: "", response: "plain answer", closed: false });
  assert.deepEqual(splitThinking("continued thought", true), { cot: "continued thought", response: "", closed: false });
});

function sample(grade: Record<string, unknown> | undefined, o: Partial<SampleRecord> = {}): SampleRecord {
  return {
    completion: "x",
    generated: "x",
    response: "x",
    completion_tokens: 10,
    cot_tokens: 6,
    response_tokens: 4,
    finish_reason: "stop",
    reflection: { reflected: false, count: 0 },
    ...(grade ? { grade: { label: "l", score: 0, ...grade } } : {}),
    ...o,
  };
}
function line(
  suite: string,
  id: string,
  attack: string,
  domain: ResultLine["domain"],
  samples: SampleRecord[],
  extra: Partial<ResultLine> = {},
): ResultLine {
  return {
    key: JSON.stringify([suite, id, attack]),
    suite,
    id,
    attack,
    domain,
    prompt: "p",
    generations: 1,
    samples,
    ...extra,
  };
}

test("a cell summary: safety, helpfulness, pass@k, refusal, reflection, tokens, flips, errors", () => {
  const lines = [
    line("s", "1", "clean", "harmful", [
      sample(
        { safe: true, refused: true },
        { reflection: { reflected: true, count: 1 }, draft_grade: { label: "d", score: 0, safe: false } },
      ),
    ]),
    line("s", "2", "clean", "harmful", [sample({ safe: false, refused: false })]),
    line("s", "3", "clean", "harmful", [sample({ score: 1 })]), // no `safe`: read from score
    line("s", "4", "clean", "benign", [sample({ helpful: 0.5 })]),
    line("s", "5", "clean", "math", [
      sample({ correct: true }),
      sample({ correct: false }),
      sample({ correct: false }),
      sample({ correct: true }),
    ]),
    line("s", "6", "clean", "harmful", [], { error: "HTTP 500" }),
    line("s", "7", "clean", "harmful", [], { skipped: "row has no hijack" }),
  ];
  const c = summarizeCell("s", "clean", lines);
  assert.deepEqual([c.items, c.errors, c.skipped, c.samples_per_item], [7, 1, 1, 4]);
  assert.deepEqual(c.domains, { harmful: 3, benign: 1, math: 1 });
  close(c.safety!.value, 2 / 3, 1e-12);
  assert.equal(c.safety!.n, 3);
  close(c.helpfulness!.value, 0.5, 1e-12);
  close(c.pass_at_k!["1"]!.value, 0.5, 1e-12);
  close(c.pass_at_k!["2"]!.value, 1 - 1 / 6, 1e-12);
  assert.deepEqual(Object.keys(c.pass_at_k!), ["1", "2", "4"]);
  close(c.refusal!.value, 0.5, 1e-12);
  close(c.reflection.value, 1 / 5, 1e-12);
  close(c.tokens.cot.value, 6, 1e-12);
  assert.deepEqual(
    { ...c.flips, rate: undefined },
    { reflected: 1, flips: 1, to_aligned: 1, to_misaligned: 0, rate: undefined },
  );
  const s = summarize([...lines, line("s", "1", "prefill", "harmful", [sample({ safe: false })])]);
  assert.equal(s.cells.length, 2);
  const j = s.j_curves.find((x) => x.metric === "safety")!;
  assert.equal(j.attack, "prefill");
  close(j.points[0]!.value, 2 / 3, 1e-12);
  close(j.points[10]!.value, 0, 1e-12);
});
