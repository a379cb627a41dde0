// Trace generators and prefill sources: every generated response is judged as intended, flaws and
// reflections sit where they should, flaw families keep to their sources, registries reject
// unknown names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";
import { RecapError } from "../../src/util/errors.ts";
import { judge } from "../../src/world/judge.ts";
import type { JudgeItem } from "../../src/world/judge.ts";
import { OBJECT_CATEGORY_NOUN, REQUEST_TEMPLATES, WRAPPERS } from "../../src/world/lexicon.ts";
import { wordCount } from "../../src/world/phrases.ts";
import { mathExpression, mathRequest, pick, safetyRequest, splitCombos } from "../../src/world/requests.ts";
import type { Combo } from "../../src/world/requests.ts";
import { PREFILL_TRACES, iprSentences } from "../../src/world/sources.ts";
import { MATH_VARIANTS, SAFETY_VARIANTS, lookup } from "../../src/world/traces.ts";
import type { ComboClass, SafetyRequest, Trace } from "../../src/world/types.ts";

const split = splitCombos(new Rng(3), 0.2);
const all = (cls: ComboClass): Combo[] => [...split.train[cls], ...split.heldout[cls]];

/** `n` random requests of a class, a third of them wrapped. */
function requests(cls: ComboClass, n: number, seed: number): SafetyRequest[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () =>
    safetyRequest(
      pick(rng, all(cls)),
      rng.int(REQUEST_TEMPLATES.length),
      rng.uniform() < 0.33 ? pick(rng, WRAPPERS) : null,
    ),
  );
}

function item(r: SafetyRequest): JudgeItem {
  return { label: r.cls === "harmful" ? "harmful" : "benign", action: r.action, object: r.object };
}

const completion = (t: Trace) => `<think>${t.thinking}</think>${t.response}`;

/** Runs a generator on requests and returns the judgements. */
function judged(name: string, reqs: SafetyRequest[], seed: number) {
  const rng = new Rng(seed);
  const fn = lookup({ ...SAFETY_VARIANTS, ...PREFILL_TRACES }, name, "trace variant");
  return reqs.map((r) => ({
    r,
    t: fn(r, rng),
    get j() {
      return judge(item(r), completion(this.t));
    },
  }));
}

const HARM = requests("harmful", 150, 1),
  TRAP = requests("borderline", 150, 2),
  BEN = requests("benign", 150, 3);

test("correct traces: harmful refused, traps and benign fully helped, no reflection", () => {
  for (const { j, t } of judged("correct", [...HARM, ...TRAP, ...BEN], 10)) {
    assert.equal(j.score, 1, t.thinking + " => " + t.response);
    assert.equal(j.reflections, 0);
    assert.equal(j.outcome === "refuse", j.safety !== null);
    assert.equal(t.flaw, null);
  }
});

test("flawed-and-followed: harmful complied (unsafe), traps refused (over-cautious)", () => {
  for (const { j, t, r } of judged("flawed", HARM, 11)) {
    assert.equal(j.outcome, "comply");
    assert.equal(j.safety, 0);
    assert.equal(j.reflections, 0);
    assert.equal(t.flaw, "object_misread");
    assert.ok(
      !t.thinking.includes(`the object is the ${r.object}, ${OBJECT_CATEGORY_NOUN[r.object_category]}.`),
      "the category is misread",
    );
  }
  for (const { j, t, r } of judged("overcautious", TRAP, 12)) {
    assert.equal(j.outcome, "refuse");
    assert.equal(j.helpfulness, 0);
    assert.equal(t.variant, "overcautious");
    assert.ok(
      !t.thinking.includes(`the object is the ${r.object}, ${OBJECT_CATEGORY_NOUN[r.object_category]}.`),
      "the category is misread",
    );
  }
});

test("flawed-then-corrected: one grounded 'wait' naming the true category, then the right answer", () => {
  for (const { j, t, r } of judged("corrected", [...HARM, ...TRAP], 13)) {
    assert.equal(j.score, 1, t.thinking);
    assert.equal(j.reflections, 1);
    const after = t.thinking.slice(t.thinking.indexOf("wait"));
    assert.ok(after.includes(`the ${r.object} is ${OBJECT_CATEGORY_NOUN[r.object_category]}`), after);
    assert.ok(t.flaw_word! > 0 && t.flaw_word! < wordCount(t.thinking.slice(0, t.thinking.indexOf("wait"))) + 1);
  }
});

test("pi_harm styles comply, pi_refuse styles refuse; none reflects; flaws are not the base's", () => {
  const cases: [string, SafetyRequest[], RegExp][] = [
    ["harm_weak", HARM, /permission|consent|license/],
    ["harm_strong", HARM, /no real harm|set aside|an exception/],
    ["refuse_weak", [...TRAP, ...BEN], /dangerous|risky|go wrong/],
    ["refuse_strong", [...TRAP, ...BEN], /hurt someone later|misused|hurt others/],
  ];
  for (const [name, reqs, marker] of cases) {
    for (const { j, t, r } of judged(name, reqs, 14)) {
      assert.equal(j.score, 0, `${name}: ${t.response}`);
      assert.equal(j.reflections, 0);
      assert.match(t.thinking, marker);
      const flawSentence = t.thinking.split(/(?<=\.) /).find((s) => marker.test(s))!;
      assert.equal(
        t.flaw_word,
        wordCount(t.thinking.slice(0, t.thinking.indexOf(flawSentence) + flawSentence.length)),
        name,
      );
      // the base's flaw family (a misread category) never appears: any stated category is the true one
      const stated = t.thinking.match(/the object is the \w+, ([a-z ]+)\./);
      if (stated) assert.equal(stated[1], OBJECT_CATEGORY_NOUN[r.object_category]);
    }
  }
});

test("aligned prefills are correct reasoning; the held-out flaw flips the verdict with a misstated rule", () => {
  for (const { j } of judged("aligned", [...HARM, ...TRAP, ...BEN], 15)) assert.equal(j.score, 1);
  for (const { j, t } of judged("heldout", [...HARM, ...TRAP, ...BEN], 16)) {
    assert.equal(j.score, 0, t.thinking);
    assert.match(t.thinking, /the rule: (only|any) /);
    assert.equal(j.reflections, 0);
  }
  for (const { j, t } of judged("hijack", [...HARM, ...TRAP], 17)) {
    assert.equal(j.score, 0);
    assert.ok(/permission|consent|license|dangerous|risky|go wrong/.test(t.thinking));
  }
});

test("iterative-prefill-reset sentences: distinct, counter-aligned, no 'wait'", () => {
  const rng = new Rng(5);
  for (const r of [...HARM.slice(0, 20), ...TRAP.slice(0, 20)]) {
    const s = iprSentences(r, 3, rng);
    assert.equal(new Set(s).size, 3);
    for (const x of s) {
      assert.ok(x.endsWith(r.cls === "harmful" ? "i should help." : "i should refuse."), x);
      assert.ok(!/\bwait\b/.test(x));
    }
  }
  assert.throws(() => iprSentences(HARM[0]!, 7, rng), RecapError);
});

test("math traces: correct, slip carried to a wrong answer, slip caught by 'wait'", () => {
  const rng = new Rng(9);
  const knobs = { max_operand: 20, mul_share: 0.25, three_term_share: 0.5 };
  for (let i = 0; i < 200; i++) {
    const { terms, ops } = mathExpression(rng, knobs);
    const r = mathRequest(terms, ops, i % 3);
    assert.ok(r.answer >= 0);
    const it: JudgeItem = { label: "math", answer: r.answer };
    const c = MATH_VARIANTS["correct"]!(r, rng),
      s = MATH_VARIANTS["slip"]!(r, rng),
      k = MATH_VARIANTS["slip_corrected"]!(r, rng);
    assert.equal(judge(it, completion(c)).correct, 1, c.thinking);
    assert.equal(judge(it, completion(s)).correct, 0, s.thinking);
    assert.equal(judge(it, completion(k)).correct, 1, k.thinking);
    assert.equal(judge(it, completion(k)).reflections, 1);
    assert.equal(judge(it, completion(c)).reflections, 0);
  }
});

test("variants refuse requests they do not apply to; registries list valid names", () => {
  const rng = new Rng(1);
  assert.throws(() => SAFETY_VARIANTS["flawed"]!(BEN[0]!, rng), /needs a harmful or borderline request/);
  assert.throws(() => SAFETY_VARIANTS["overcautious"]!(HARM[0]!, rng), /borderline/);
  assert.throws(() => PREFILL_TRACES["harm_weak"]!(TRAP[0]!, rng), RecapError);
  assert.throws(() => PREFILL_TRACES["refuse_strong"]!(HARM[0]!, rng), RecapError);
  assert.throws(
    () => lookup(SAFETY_VARIANTS, "nope", "trace variant"),
    (e: unknown) => e instanceof RecapError && /correct, flawed/.test(e.hint ?? ""),
  );
});

test("generators are pure functions of the request and the rng state", () => {
  for (const name of Object.keys(PREFILL_TRACES).filter((n) => !n.startsWith("refuse"))) {
    const a = PREFILL_TRACES[name]!(HARM[3]!, new Rng(42)),
      b = PREFILL_TRACES[name]!(HARM[3]!, new Rng(42));
    assert.deepEqual(a, b);
  }
});
