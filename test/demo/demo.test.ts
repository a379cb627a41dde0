// `recap demo` end to end on a smoke budget (a base trained for 2 steps, one RL step, 2 items
// per suite): every stage runs, summary.json carries every metric of every model with rates in
// [0, 1], report.html is written, a re-run resumes every finished stage without redoing it, and
// other settings on a finished folder are refused. The numbers of a smoke budget mean nothing;
// the shape and the resume behaviour are what is tested.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEMO_PRESETS, DemoConfigSchema, checkDemoConfig, mergeDeep } from "../../src/demo/config.ts";
import { MODELS, runDemo } from "../../src/demo/run.ts";
import { validateConfig } from "../../src/util/config_file.ts";
import { isRecapError } from "../../src/util/errors.ts";
import { SMOKE_DEMO as smoke } from "./smoke.ts";

process.env["RECAP_QUIET"] = "1";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-demo-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

const config = (extra: unknown = {}) =>
  checkDemoConfig(validateConfig(mergeDeep(mergeDeep(DEMO_PRESETS["quick"], smoke), extra), DemoConfigSchema, "smoke"));

const REQUIRED = [
  "safety_clean",
  "safety_prefill",
  "safety_jailbreak",
  "safety_hijack",
  "safety_ipr_k1",
  "safety_ipr_k3",
  "helpfulness_borderline",
  "math_accuracy",
  "reflection_rate",
  "cot_tokens",
  "response_tokens",
];

test("the demo runs every stage, writes the report and a complete summary, and resumes", {
  timeout: 300_000,
}, async () => {
  const out = path.join(tmp, "run");
  const lines: string[] = [];
  const first = await runDemo({ config: config(), preset: "quick", out, log: (l) => lines.push(l) });
  const s = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")) as typeof first.summary;
  assert.deepEqual(Object.keys(s.runs), [...MODELS]);
  for (const m of MODELS) {
    for (const k of REQUIRED) {
      const v = s.runs[m]![k];
      assert.equal(typeof v, "number", `${m}.${k} is a number`);
      if (!k.endsWith("_tokens")) assert.ok(v! >= 0 && v! <= 1, `${m}.${k} = ${v} is a rate`);
      const iv = s.intervals[m]![k]!;
      assert.ok(iv[0] <= v! + 1e-12 && v! <= iv[1] + 1e-12, `${m}.${k} lies in its interval`);
    }
  }
  assert.ok(s.seconds > 0 && typeof s.stage_seconds["recap"] === "number");
  assert.match(s.base_source, /trained/);
  assert.ok(fs.readFileSync(path.join(out, "report.html"), "utf8").includes("<svg"));
  for (const m of MODELS) assert.ok(first.table.includes(m));
  assert.ok(lines.some((l) => l.startsWith("[10/10] report")));
  // The RL runs are the same budget from the same base: both configs differ only in the prefills.
  const dapo = JSON.parse(fs.readFileSync(path.join(out, "dapo.config.json"), "utf8")) as Record<string, unknown>;
  const recap = JSON.parse(fs.readFileSync(path.join(out, "recap.config.json"), "utf8")) as Record<string, unknown>;
  const differing = Object.keys(dapo).filter((k) => JSON.stringify(dapo[k]) !== JSON.stringify(recap[k]));
  assert.deepEqual(differing.sort(), ["recap_enabled"]);

  const again: string[] = [];
  const second = await runDemo({ config: config(), preset: "quick", out, log: (l) => again.push(l) });
  assert.equal(again.filter((l) => l.includes("done earlier")).length, 9, again.join("\n"));
  assert.deepEqual(second.summary.runs, first.summary.runs);

  await assert.rejects(
    runDemo({ config: config({ rl: { steps: 2 } }), preset: "quick", out }),
    (e: unknown) => isRecapError(e) && /made with other settings/.test(e.message),
  );
});

test("configs missing what the table needs fail before any work, naming the fix", () => {
  assert.throws(
    () => config({ eval: { attacks: ["clean", "hijack"] } }),
    (e: unknown) => isRecapError(e) && /lacks prefill:weak/.test(e.message),
  );
  assert.throws(
    () => config({ eval: { suites: ["harmful"] } }),
    (e: unknown) => isRecapError(e) && /lacks jailbreak/.test(e.message),
  );
  assert.throws(
    () => config({ rl: { steps: 0 } }),
    (e: unknown) => isRecapError(e) && /rl\.steps/.test(e.message),
  );
  assert.throws(
    () => config({ bogus: 1 }),
    (e: unknown) => isRecapError(e) && /bogus/.test(e.message),
  );
});
