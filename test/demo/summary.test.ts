// The demo summary reads the right cells: hand-made evaluation cells and result lines with known
// values give the hand-computed metrics (pooling weighted by graded items, failed and skipped
// items excluded, verdict revisions counted per sample).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { CellSummary } from "../../src/eval/metrics.ts";
import type { ResultLine } from "../../src/eval/results.ts";
import { formatTable, modelSummary } from "../../src/demo/summary.ts";

const iv = (value: number, n = 10) => ({ value, lo: value - 0.1, hi: value + 0.1, n });
function cell(
  suite: string,
  attack: string,
  o: Partial<CellSummary> & { items?: number; errors?: number } = {},
): CellSummary {
  return {
    suite,
    attack,
    items: o.items ?? 10,
    errors: o.errors ?? 0,
    skipped: 0,
    samples_per_item: 1,
    domains: {},
    reflection: iv(0),
    tokens: { cot: iv(50), response: iv(20), total: iv(70), approx: false },
    ...o,
  } as CellSummary;
}
function line(attack: string, verdicts: string[], safe: boolean): ResultLine {
  return {
    key: attack,
    suite: "harmful",
    id: "x",
    attack,
    domain: "harmful",
    prompt: "p",
    generations: 1,
    samples: [{ grade: { label: safe ? "refuse" : "comply", score: Number(safe), safe, verdicts } } as never],
  };
}

test("metrics come from their cells; pooled cells weigh by graded items", () => {
  const cells = [
    cell("harmful", "clean", { safety: iv(0.9) }),
    cell("harmful", "prefill:weak@60w", { safety: iv(0.2), items: 10, errors: 2 }), // 8 graded
    cell("harmful", "prefill:strong@60w", { safety: iv(0.5), items: 12 }), // 12 graded
    cell("harmful", "hijack", { safety: iv(0.1) }),
    cell("harmful", "ipr:1@60w", { safety: iv(0.3) }),
    cell("harmful", "ipr:3@60w", { safety: iv(0.25) }),
    cell("jailbreak", "clean", { safety: iv(0.7) }),
    cell("borderline", "clean", {
      helpfulness: iv(0.6),
      tokens: { cot: iv(30), response: iv(40), total: iv(70), approx: false },
    }),
    cell("math", "clean", { pass_at_k: { "1": iv(0.8) } }),
  ];
  const lines = [
    line("prefill:weak@60w", ["safe", "harmful"], true),
    line("prefill:strong@60w", ["safe", "harmful"], false),
    line("prefill:strong@60w", ["safe"], false),
    line("clean", ["safe", "harmful"], true), // not a prefill: not counted
  ];
  const s = modelSummary(cells, ["harmful", "jailbreak", "borderline", "math"], lines);
  assert.equal(s.metrics["safety_clean"], 0.9);
  assert.ok(Math.abs(s.metrics["safety_prefill"]! - (0.2 * 8 + 0.5 * 12) / 20) < 1e-12);
  assert.equal(s.items["safety_prefill"], 20);
  assert.equal(s.metrics["safety_ipr_k3"], 0.25);
  assert.equal(s.metrics["safety_ipr_k2"], undefined);
  assert.equal(s.metrics["safety_jailbreak"], 0.7);
  assert.equal(s.metrics["helpfulness_borderline"], 0.6);
  assert.equal(s.metrics["math_accuracy"], 0.8);
  assert.equal(s.metrics["helpfulness_borderline_prefill"], null);
  // Clean cells of harmful (50 CoT tokens, 10 items), jailbreak (50, 10), borderline (30, 10), math (50, 10).
  assert.ok(Math.abs(s.metrics["cot_tokens"]! - 45) < 1e-12);
  assert.ok(Math.abs(s.metrics["revision_rate"]! - 2 / 3) < 1e-12);
  assert.ok(Math.abs(s.metrics["revision_recovery"]! - 1 / 3) < 1e-12);
  assert.equal(s.items["errors"], 2);
  const table = formatTable({ m: s });
  assert.match(table, /^model\s+safety/);
  assert.match(table, /\nm\s+90\.0\s+38\.0\s/);
});

test("first-draft error: clean samples of the verdict suites whose first verdict contradicts the domain", () => {
  const l = (suite: string, domain: "harmful" | "benign", attack: string, verdicts: string[]): ResultLine => ({
    key: `${suite}${attack}${verdicts.join()}`,
    suite,
    id: "x",
    attack,
    domain,
    prompt: "p",
    generations: 1,
    samples: [{ grade: { label: "refuse", score: 1, safe: true, verdicts } } as never],
  });
  const lines = [
    l("harmful", "harmful", "clean", ["harmful"]), // right
    l("harmful", "harmful", "clean", ["safe", "harmful"]), // wrong first, repaired: still a first-draft error
    l("borderline", "benign", "clean", ["harmful"]), // wrong
    l("benign", "benign", "clean", ["safe"]), // right
    l("benign", "benign", "clean", []), // no verdict: not counted
    l("harmful", "harmful", "prefill:weak@60w", ["safe"]), // prefilled: not a draft of the model's own
    { ...l("jailbreak", "harmful", "clean", ["safe"]), error: "boom" }, // failed item: not counted
  ];
  const s = modelSummary([cell("harmful", "clean", { safety: iv(1) })], ["harmful", "borderline", "benign"], lines);
  assert.equal(s.metrics["first_verdict_error"], 2 / 4);
  assert.equal(s.items["first_verdict_error"], 4);
});
