// Measures the math verifier on ../shared/datasets (MATH500, GSM8K), as reported in docs/EVAL.md:
//   self     each gold answer vs the answer extracted from its own solution (boxed / #### N)
//   engine   each gold vs itself through the compute engine alone (the exact-string check skipped)
//   reformat each gold vs the compute engine's own LaTeX for it (another surface form; golds the
//            engine cannot parse, or prints identically after normalisation, are not counted)
//   styled   (integer golds) verify() of "... \boxed{\$1,234}." (dollar sign, thousands commas) against the gold
//   next     each gold vs the next item's gold (false positives, unless the two are truly equal)
//   perturb  each gold vs itself with its first digit changed (near-miss false positives)
//   pairs    (with --all-pairs) every pair of MATH500 golds whose normalised texts differ
// Usage: node --import tsx scripts/measure_math_verify.ts [DATASETS_DIR] [--list] [--all-pairs]
import * as fs from "node:fs";
import * as path from "node:path";
import {
  extractAnswer,
  isEquivalent,
  normalizeAnswer,
  normalizeDetailed,
  splitTopLevel,
  verify,
} from "../src/graders/math_verify.ts";
import { symbolicEqual } from "../src/graders/math_symbolic.ts";
import { loadGsm8k, loadMath500 } from "../src/eval/loaders/index.ts";
import { ComputeEngine } from "@cortex-js/compute-engine";

const engine = new ComputeEngine();

/** The engine's LaTeX for a normalised gold, or null when it cannot parse it or prints it alike.
 * Word answers and bare lists are skipped: the engine reads "Evelyn" as a product and "1,-2" as a
 * tuple, so its LaTeX for them is not the same answer. */
function reformat(gold: string): string | null {
  const n = normalizeDetailed(gold);
  const g = n.text;
  if (n.textual || splitTopLevel(g).length > 1) return null;
  const e = engine.parse(g);
  if (!e.isValid) return null;
  const latex = e.latex;
  return normalizeAnswer(latex) === g ? null : latex;
}

interface Item {
  id: string;
  gold: string;
  solution: string;
}

function perturb(s: string): string | null {
  const m = /\d/.exec(s);
  if (!m) return null;
  const d = Number(m[0]);
  return s.slice(0, m.index) + String((d + 1) % 10) + s.slice(m.index + 1);
}

function measure(name: string, items: Item[], list: boolean): void {
  const t0 = Date.now();
  const misses: string[] = [];
  const engineMisses: string[] = [];
  const nextHits: string[] = [];
  const perturbHits: string[] = [];
  const reformatMisses: string[] = [];
  let perturbed = 0;
  let reformatted = 0;
  const reformatOk: string[] = [];
  const styledMisses: string[] = [];
  let styled = 0;
  items.forEach((it, i) => {
    const ex = extractAnswer(it.solution);
    const v = isEquivalent(it.gold, ex);
    if (!v.equal)
      misses.push(`${it.id}: gold ${JSON.stringify(it.gold)} vs extracted ${JSON.stringify(ex)} (${v.reason})`);
    const g = normalizeAnswer(it.gold);
    const e = symbolicEqual(g, g);
    if (!e.equal) engineMisses.push(`${it.id}: ${JSON.stringify(g)} (${e.reason})`);
    const rf = reformat(it.gold);
    if (rf !== null) {
      reformatted++;
      const vr = isEquivalent(it.gold, rf);
      if (!vr.equal)
        reformatMisses.push(`${it.id}: ${JSON.stringify(it.gold)} vs engine's ${JSON.stringify(rf)} (${vr.reason})`);
      else if (list) reformatOk.push(`${JSON.stringify(it.gold)} ~ ${JSON.stringify(rf)} (${vr.method})`);
    }
    if (/^-?(?:\d+|\d{1,3}(?:,\d{3})+)$/.test(it.gold)) {
      styled++;
      const digits = it.gold.replace(/,/g, "");
      const money = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      const vs = verify(`So the total is \\boxed{\\$${money}}.`, it.gold);
      if (!vs.correct) styledMisses.push(`${it.id}: ${JSON.stringify(it.gold)} vs "\\$${money}" (${vs.reason})`);
    }
    const next = items[(i + 1) % items.length] as Item;
    const vn = isEquivalent(it.gold, next.gold);
    if (vn.equal) nextHits.push(`${it.id}: ${JSON.stringify(it.gold)} ~ ${JSON.stringify(next.gold)} (${vn.method})`);
    const p = perturb(it.gold);
    if (p !== null) {
      perturbed++;
      const vp = isEquivalent(it.gold, p);
      if (vp.equal) perturbHits.push(`${it.id}: ${JSON.stringify(it.gold)} ~ ${JSON.stringify(p)} (${vp.method})`);
    }
  });
  const n = items.length;
  const pct = (k: number, d: number) => `${k}/${d} (${((100 * k) / d).toFixed(1)}%)`;
  console.log(`## ${name}: ${n} items, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`self    gold == extracted from own solution: ${pct(n - misses.length, n)}`);
  console.log(`engine  gold == gold through the engine alone: ${pct(n - engineMisses.length, n)}`);
  if (reformatted)
    console.log(`reformat gold == engine's LaTeX of it: ${pct(reformatted - reformatMisses.length, reformatted)}`);
  if (styled) console.log(`styled  verify("\\boxed{\\$1,234}", gold): ${pct(styled - styledMisses.length, styled)}`);
  console.log(`next    gold == next item's gold (judged equal): ${pct(nextHits.length, n)}`);
  console.log(`perturb gold == gold with first digit changed (judged equal): ${pct(perturbHits.length, perturbed)}`);
  for (const [label, xs] of [
    ["self misses", misses],
    ["reformat misses", reformatMisses],
    ["styled misses", styledMisses],
    ["next judged equal", nextHits],
    ["perturb judged equal", perturbHits],
  ] as const)
    for (const x of xs) console.log(`  ${label}: ${x}`);
  if (list) for (const x of engineMisses) console.log(`  engine miss: ${x}`);
  if (list) for (const x of reformatOk) console.log(`  reformat equal: ${x}`);
  else if (engineMisses.length) console.log(`  (${engineMisses.length} engine misses; --list prints them)`);
}

/** Every pair of golds with different normalised text; prints those judged equal. */
function allPairs(name: string, golds: Array<{ id: string; gold: string }>): void {
  const t0 = Date.now();
  const norm = golds.map((g) => normalizeAnswer(g.gold));
  let pairs = 0;
  const hits: string[] = [];
  for (let i = 0; i < golds.length; i++) {
    for (let j = i + 1; j < golds.length; j++) {
      if (norm[i] === norm[j]) continue;
      pairs++;
      const a = golds[i] as { id: string; gold: string };
      const b = golds[j] as { id: string; gold: string };
      const v = isEquivalent(a.gold, b.gold);
      if (v.equal) hits.push(`${a.id} ${JSON.stringify(a.gold)} ~ ${b.id} ${JSON.stringify(b.gold)} (${v.method})`);
    }
  }
  console.log(
    `## ${name} all pairs with different normalised golds: ${hits.length}/${pairs} judged equal, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  for (const h of hits) console.log(`  pair judged equal: ${h}`);
}

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith("--")) ?? "../shared/datasets";
const list = args.includes("--list");
if (!fs.existsSync(dir)) {
  console.error(`no datasets folder at ${dir}`);
  process.exit(1);
}
const math = await loadMath500(path.join(dir, "math500/test.jsonl"));
measure(
  "MATH500",
  math.map((r) => ({ id: r.unique_id, gold: r.answer, solution: r.solution })),
  list,
);
if (args.includes("--all-pairs"))
  allPairs(
    "MATH500",
    math.map((r) => ({ id: r.unique_id, gold: r.answer })),
  );
const gsm = await loadGsm8k(path.join(dir, "gsm8k/test.jsonl"));
measure(
  "GSM8K",
  gsm.map((r) => ({ id: r.id, gold: r.gold, solution: r.answer })),
  list,
);
