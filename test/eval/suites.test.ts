// A suite row's domain (src/eval/suites.ts rowDomain): `domain`, then WildJailbreak's boolean
// `harmful` (its adversarial_benign rows are benign prompts, not harmful ones), then `label`, then
// the suite name.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveSuite, rowDomain } from "../../src/eval/suites.ts";
import { SuiteRowSchema } from "../../src/eval/types.ts";

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "data", "fixtures");

test("WildJailbreak's adversarial_benign rows are benign; harmful ones harmful", async () => {
  const s = await resolveSuite(`wildjailbreak:${path.join(FIX, "wildjailbreak_eval.tsv")}`);
  const by = new Map(s.rows.map((r) => [String(r["data_type"]), rowDomain(r, s.name)]));
  assert.equal(by.get("adversarial_harmful"), "harmful");
  assert.equal(by.get("adversarial_benign"), "benign");
});

test("domain order: domain, harmful, label, suite name", () => {
  const row = (o: Record<string, unknown>) => SuiteRowSchema.parse({ id: "x", prompt: "p", ...o });
  assert.equal(rowDomain(row({ domain: "math", harmful: true }), "x"), "math");
  assert.equal(rowDomain(row({ harmful: false, label: "unsafe" }), "x"), "benign");
  assert.equal(rowDomain(row({ label: "safe" }), "strongreject"), "benign");
  assert.equal(rowDomain(row({}), "strongreject"), "harmful");
  assert.equal(rowDomain(row({}), "unnamed"), undefined);
});
