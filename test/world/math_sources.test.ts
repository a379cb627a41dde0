// pi_math, the counter-aligned math prefills of recap-world/3: the weak guess and the strong
// operator swap are wrong, never negative, never say "wait", differ from the base's own off-by-one
// slips, and their responses are judged wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";
import { judge } from "../../src/world/judge.ts";
import { counterMath, swappedValue } from "../../src/world/math_sources.ts";
import { mathExpression, mathRequest } from "../../src/world/requests.ts";
import type { MathRequest } from "../../src/world/types.ts";

function problems(n: number, seed: number, mul_share: number): MathRequest[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const { terms, ops } = mathExpression(rng, { max_operand: 9, mul_share, three_term_share: 0.5 });
    return mathRequest(terms, ops, rng.int(3));
  });
}

test("swappedValue: the other operator's value, never negative, never the right one", () => {
  assert.equal(swappedValue(7, "-", 3), 10);
  assert.equal(swappedValue(3, "+", 5), 2);
  assert.equal(swappedValue(6, "*", 3), 9);
  assert.equal(swappedValue(2, "*", 2), 6); // 2 + 2 = 2 * 2: moved off the right value
  for (let a = 0; a < 30; a++)
    for (let b = 1; b < 10; b++)
      for (const op of ["+", "-", "*"]) {
        const right = op === "+" ? a + b : op === "-" ? a - b : a * b;
        const v = swappedValue(a, op, b);
        assert.ok(v >= 0 && v !== right, `${a} ${op} ${b}: ${v}`);
      }
});

test("weak and strong math prefills: wrong answers, judged wrong, no reflection, no negative step", () => {
  const rng = new Rng(5);
  for (const mul of [0, 0.25])
    for (const r of problems(300, 9, mul)) {
      for (const strength of ["weak", "strong"] as const) {
        const t = counterMath(r, strength, rng);
        assert.ok(!/\bwait\b/.test(t.thinking), t.thinking);
        assert.ok(!/-\d/.test(t.thinking.replace(/ - /g, " ")), `no negative value: ${t.thinking}`);
        const m = /so the answer is (\d+)\.$/.exec(t.thinking);
        assert.ok(m && Number(m[1]) !== r.answer, `${r.expression} = ${r.answer}: ${t.thinking}`);
        assert.equal(t.flaw, strength === "weak" ? "guess" : "operator_swap");
        const j = judge({ label: "math", answer: r.answer }, `<think>${t.thinking}</think>${t.response}<eos>`);
        assert.equal(j.score, 0, t.thinking);
        if (strength === "weak") {
          const off = Math.abs(Number(m![1]) - r.answer);
          assert.ok(off >= 2 && off <= 4, "a guess is off by 2-4, never by the base's own 1");
        }
      }
    }
});
