// The math verifier: extraction strategies, Minerva-style normalisation, equivalence (equal and
// not-equal pairs across fractions, radicals, intervals, tuples, sets, \pm, percent, units, text,
// equations), pathological and garbage inputs (a verdict, never a throw), verify(), and the full
// MATH500 + GSM8K self-check on ../shared/datasets (skipped with a message when it is absent).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import {
  extractAnswer,
  extractAnswerWith,
  goldAnswer,
  isEquivalent,
  normalizeAnswer,
  splitTopLevel,
  verify,
} from "../../src/graders/math_verify.ts";
import { loadGsm8k, loadMath500 } from "../../src/eval/loaders/index.ts";
import { Rng } from "../../src/engine/rng.ts";
import { RecapError } from "../../src/util/errors.ts";

const DATA = "../shared/datasets";
const skip = fs.existsSync(DATA) ? false : `${DATA} is absent (MATH500 and GSM8K live there)`;

test("boxed: the last \\boxed / \\fbox, nested braces, escaped braces, no braces", () => {
  assert.equal(extractAnswer("so \\boxed{1} then \\boxed{\\frac{a}{b^{2}}}."), "\\frac{a}{b^{2}}");
  assert.equal(extractAnswer("\\fbox{7}"), "7");
  assert.equal(extractAnswer("$\\boxed 5$"), "5");
  assert.equal(extractAnswer("\\boxed{\\{1, 2\\}}"), "\\{1, 2\\}");
  assert.equal(extractAnswer("\\boxed{a\\}b}"), "a\\}b", "an escaped brace neither opens nor closes");
  assert.equal(
    extractAnswerWith("\\boxed{1} then \\boxed{2", { strategies: ["boxed"] }),
    null,
    "an unclosed last box gives nothing",
  );
  assert.equal(extractAnswerWith("\\boxedfoo{3}", { strategies: ["boxed"] }), null);
});

test("gsm8k, answer-is and last-number strategies, tried in order", () => {
  assert.deepEqual(extractAnswerWith("She pays 9*2=18.\n#### 18"), { answer: "18", strategy: "gsm8k" });
  assert.deepEqual(extractAnswerWith("#### 1,450,000\n"), { answer: "1,450,000", strategy: "gsm8k" });
  assert.deepEqual(extractAnswerWith("Thus the final answer is $\\frac{3}{4}$. I hope"), {
    answer: "\\frac{3}{4}",
    strategy: "answer-is",
  });
  assert.deepEqual(extractAnswerWith("**Answer:** 12"), { answer: "12", strategy: "answer-is" });
  assert.deepEqual(extractAnswerWith("we get 3, then 4.5 and finally 1,234 apples"), {
    answer: "1,234",
    strategy: "last-number",
  });
  assert.equal(extractAnswer("-.5 is it"), "-.5");
  assert.equal(extractAnswer("no digits at all"), null);
  assert.equal(extractAnswer(""), null);
  assert.equal(extractAnswer(undefined), null);
  assert.equal(extractAnswer("answer is 3 \\boxed{4}"), "4", "boxed comes first");
  assert.equal(extractAnswer("The answer is 3. Later \\boxed{4}", { strategies: ["answer-is"] }), "3");
  assert.equal(extractAnswer("The answer is $\\boxed{4}$.", { strategies: ["answer-is"] }), "4");
  assert.throws(
    () => extractAnswer("x", { strategies: ["boxed", "magic"] }),
    (e: unknown) => e instanceof RecapError && /magic/.test(e.message) && /boxed, gsm8k/.test(e.hint ?? ""),
  );
});

test("Minerva-style normalisation", () => {
  const cases: Array<[string, string]> = [
    ["\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"],
    ["\\dfrac{17}{50}", "\\frac{17}{50}"],
    ["\\frac 59", "\\frac{5}{9}"],
    ["\\frac9{19}", "\\frac{9}{19}"],
    ["11\\sqrt2", "11\\sqrt{2}"],
    ["10,\\!080", "10080"],
    ["\\$18.90", "18.90"],
    ["90^\\circ", "90"],
    ["145^{\\circ}", "145"],
    ["864 \\mbox{ inches}^2", "864"],
    ["15\\mbox{ cm}^2", "15"],
    ["5.4 \\text{ cents}", "5.4"],
    ["\\frac{270}7\\text{ degrees}", "\\frac{270}{7}"],
    ["\\text{Evelyn}", "Evelyn"],
    ["\\text{(C)}", "C"],
    ["x=5", "5"],
    ["x \\in [-2,7]", "[-2,7]"],
    [".0000672", "0.0000672"],
    ["10\\%", "10"],
    ["5.", "5"],
    ["$\\boxed{12}$", "12"],
    ["12 cm", "12"],
    ["\\cot x", "\\cot x"],
    ["\\lparen 3, 4\\rbrack", "(3,4]"],
    ["\\bigl\\lbrack 1, 2 \\bigr\\rbrack", "[1,2]"],
    ["5x - 7y + 11z + 4 = 0", "5x-7y+11z+4=0"],
    ["\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"],
  ];
  for (const [raw, want] of cases) assert.equal(normalizeAnswer(raw), want, raw);
  assert.equal(normalizeAnswer(42), "");
});

test("top-level comma split ignores commas inside groups", () => {
  assert.deepEqual(splitTopLevel("1, (2,3), \\{4,5\\}, [6,7)"), ["1", "(2,3)", "\\{4,5\\}", "[6,7)"]);
});

const EQUAL: Array<[string, string]> = [
  ["\\frac{1}{2}", "0.5"],
  ["2\\sqrt{2}", "\\sqrt{8}"],
  ["\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}"],
  ["(3,4]", "(3, 4]"],
  ["\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"],
  ["1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}"],
  ["\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt5, 1-\\sqrt5"],
  ["1,-2", "-2, 1"],
  ["10\\%", "0.1"],
  ["\\$32,\\!348", "32348"],
  ["\\text{east}", "East"],
  ["1\\frac{4}{5}", "\\frac{9}{5}"],
  ["x^2+2x", "x(x+2)"],
  ["(a+5)(b+2)", "ab+2a+5b+10"],
  ["\\cot x", "\\frac{\\cos x}{\\sin x}"],
  ["5x - 7y + 11z + 4 = 0", "10x - 14y + 22z + 8 = 0"],
  ["(0,9) \\cup (9,36)", "(9,36)\\cup(0,9)"],
  ["\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}", "\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\end{pmatrix}"],
  ["52_8", "52_{8}"],
  ["\\pi", "3.14159265358979"],
  ["e^{i\\pi}", "-1"],
  ["\\sqrt[3]{2}", "2^{1/3}"],
  ["6-5i", "6 - 5i"],
  ["\\lbrace 1, 2\\rbrace", "2, 1"],
  ["-\\frac{35}{9}", "\\frac{-35}{9}"],
];
const NOT_EQUAL: Array<[string, string]> = [
  ["\\frac{1}{2}", "\\frac{1}{3}"],
  ["(1,2)", "(2,1)"],
  ["(3,4]", "[3,4]"],
  ["(3,4]", "(3,4)"],
  ["52_8", "42"],
  ["\\text{east}", "\\text{seat}"],
  ["x+1", "y+1"],
  ["x^2", "2x"],
  ["1,-2", "1,2"],
  ["1\\pm\\sqrt{19}", "1+\\sqrt{19}"],
  ["0.1", "10"],
  ["\\pi", "3.14"],
  ["5x-7y+11z+4=0", "5x-7y+11z-4=0"],
  ["\\text{(C)}", "\\text{(B)}"],
  ["1/0", "2/0"],
  ["\\infty", "-\\infty"],
  ["(0,9)\\cup(9,36)", "(0,36)"],
  [".0000672", ".0000772"],
  ["11111111100", "11111111101"],
  ["123456.7", "123456.8"],
  ["\\pi", "3.14159265"],
];

test("equivalence: equal pairs are equal both ways, with a method", () => {
  for (const [a, b] of EQUAL) {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const v = isEquivalent(x, y);
      assert.equal(v.equal, true, `${x} vs ${y}: ${v.reason}`);
      assert.notEqual(v.method, "none");
    }
  }
});

test("equivalence: different answers are not equal, with a reason", () => {
  for (const [a, b] of NOT_EQUAL) {
    const v = isEquivalent(a, b);
    assert.equal(v.equal, false, `${a} vs ${b} judged equal by ${v.method}`);
    assert.equal(typeof v.reason, "string");
  }
});

test("the exact-string path alone (symbolic: false) still handles normalised forms", () => {
  assert.equal(isEquivalent("\\dfrac{1}{2}", "\\frac12", { symbolic: false }).equal, true);
  assert.equal(isEquivalent("\\frac{1}{2}", "0.5", { symbolic: false }).equal, false);
});

test("pathological inputs give a not-equal verdict with a reason instead of hanging", () => {
  for (const [a, b] of [
    ["100000!", "100001!"],
    ["10^{10^{10}}", "10^{10^{10}}+1"],
    ["\\sum_{n=1}^{10^{9}} n", "5"],
    ["1".repeat(80), "1"],
    ["x".repeat(5000), "y"],
  ]) {
    const v = isEquivalent(a as string, b as string, { timeLimitMs: 300 });
    assert.equal(v.equal, false, `${a} vs ${b}`);
    assert.ok(v.reason, `${a}: a reason is given`);
  }
});

test("seeded garbage never throws", () => {
  const rng = new Rng(11);
  const atoms = [
    "\\frac",
    "{",
    "}",
    "\\sqrt",
    "(",
    ")",
    "[",
    "]",
    ",",
    "\\pm",
    "^",
    "_",
    "x",
    "1",
    "2",
    ".",
    "\\text{",
    "$",
    "\\boxed{",
    "\\\\",
    "=",
    "\\%",
    "\\left(",
    " ",
  ];
  for (let k = 0; k < 300; k++) {
    const s = Array.from({ length: 1 + rng.int(12) }, () => atoms[rng.int(atoms.length)]).join("");
    const t = Array.from({ length: 1 + rng.int(12) }, () => atoms[rng.int(atoms.length)]).join("");
    const v = isEquivalent(s, t, { timeLimitMs: 300 });
    assert.equal(typeof v.equal, "boolean");
    verify(s, t);
  }
  assert.equal(isEquivalent(null, "1").equal, false);
  assert.equal(isEquivalent({}, []).equal, false);
});

test("verify: answer after </think>, gold as a solution or an answer", () => {
  const c = "<think>maybe \\boxed{3}</think>The area is \\boxed{\\dfrac{1}{2}}.";
  assert.deepEqual(verify(c, "0.5"), {
    correct: true,
    extracted: "\\dfrac{1}{2}",
    strategy: "boxed",
    method: "symbolic",
  });
  assert.equal(verify("<think>\\boxed{3}</think>no answer here", "3").correct, false);
  assert.equal(verify("<think>\\boxed{3}</think>no answer here", "3", { afterThink: false }).correct, true);
  assert.equal(verify("so #### 72", "Natalia sold 48/2 = 24 clips.\n#### 72").correct, true);
  assert.equal(verify("She makes \\boxed{\\$18.00} a day.", "18").correct, true);
  assert.equal(verify("The answer is 18 dollars.", "18").correct, true);
  assert.equal(verify("The answer is 19 dollars.", "18").correct, false);
  assert.equal(goldAnswer("We find $\\boxed{\\frac{14}{3}}$."), "\\frac{14}{3}");
  assert.equal(verify("The answer is 5", "").reason, "gold answer is missing");
  assert.equal(verify(42, "42").correct, false);
});

test("MATH500 + GSM8K: every gold equals the answer extracted from its own solution; no gold equals a perturbed gold", {
  skip,
}, async () => {
  const math = await loadMath500(`${DATA}/math500/test.jsonl`);
  const gsm = await loadGsm8k(`${DATA}/gsm8k/test.jsonl`);
  const items = [
    ...math.map((r) => ({ id: r.id, gold: r.gold, solution: r.solution })),
    ...gsm.map((r) => ({ id: r.id, gold: r.gold, solution: r.answer })),
  ];
  const misses = items.filter((it) => !isEquivalent(it.gold, extractAnswer(it.solution)).equal).map((it) => it.id);
  assert.deepEqual(misses, []);
  const perturbed = items.flatMap((it) => {
    const m = /\d/.exec(it.gold);
    if (!m) return [];
    const p = it.gold.slice(0, m.index) + String((Number(m[0]) + 1) % 10) + it.gold.slice(m.index + 1);
    return isEquivalent(it.gold, p).equal ? [it.id] : [];
  });
  assert.deepEqual(perturbed, []);
});
