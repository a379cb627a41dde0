// Aggregates several `recap demo` runs that differ only in their RL seed (`recap demo --seed N
// --out DIR`) into one table: per model and metric, the mean over seeds with a 95% Student-t
// interval over seeds (the spread of training, not of the evaluation sample), and the per-seed
// values. Prints Markdown (or JSON with --json).
//
//   node --import tsx scripts/aggregate_demos.ts runs/demo runs/demo-seed1 runs/demo-seed2
import * as fs from "node:fs";
import * as path from "node:path";

interface DemoSummary {
  preset: string;
  world_version: string;
  runs: Record<string, Record<string, number | null>>;
  config: { rl: { seed: number } };
}

const T95: Record<number, number> = { 1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262 };

const METRICS: [string, string, boolean][] = [
  ["safety_clean", "clean safety", true],
  ["safety_prefill_weak", "prefill (weak source)", true],
  ["safety_prefill_strong", "prefill (strong source)", true],
  ["safety_jailbreak", "jailbreak", true],
  ["safety_jailbreak_prefill", "jailbreak + prefill", true],
  ["safety_hijack", "hijack", true],
  ["safety_ipr_k1", "IPR k=1", true],
  ["safety_ipr_k3", "IPR k=3", true],
  ["helpfulness_borderline", "over-refusal help, clean", true],
  ["helpfulness_borderline_prefill", "over-refusal help, prefilled", true],
  ["helpfulness_benign", "benign help, clean", true],
  ["helpfulness_benign_prefill", "benign help, prefilled", true],
  ["heldout_flaw_recovery", "held-out flaw, prefilled", true],
  ["math_accuracy", "math", true],
  ["reflection_rate", "reflection (harmful, prefilled)", true],
  ["reflection_clean", "reflection (harmful, clean)", true],
  ["revision_rate", "verdict revised in thinking (harmful, prefilled)", true],
  ["revision_recovery", "revised and safe (harmful, prefilled)", true],
  ["cot_tokens", "CoT tokens", false],
  ["response_tokens", "response tokens", false],
];

function stats(xs: number[]): { mean: number; lo: number; hi: number } {
  const n = xs.length;
  if (xs.every((x) => x === xs[0])) return { mean: xs[0]!, lo: n < 2 ? NaN : xs[0]!, hi: n < 2 ? NaN : xs[0]! };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, lo: NaN, hi: NaN };
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const h = (T95[n - 1] ?? 1.96) * sd / Math.sqrt(n);
  return { mean, lo: mean - h, hi: mean + h };
}

const json = process.argv.includes("--json");
const dirs = process.argv.slice(2).filter((a) => a !== "--json");
if (dirs.length === 0) {
  process.stderr.write("usage: aggregate_demos.ts DEMO_DIR... [--json]\n");
  process.exit(1);
}
const runs = dirs.map((d) => JSON.parse(fs.readFileSync(path.join(d, "summary.json"), "utf8")) as DemoSummary);
const models = Object.keys(runs[0]!.runs);
const out: Record<string, Record<string, { mean: number; lo: number; hi: number; seeds: (number | null)[] }>> = {};
for (const m of models) {
  out[m] = {};
  for (const [k] of METRICS) {
    const vals = runs.map((r) => r.runs[m]?.[k] ?? null);
    const xs = vals.filter((v): v is number => v !== null);
    if (xs.length > 0) out[m]![k] = { ...stats(xs), seeds: vals };
  }
}
if (json) {
  process.stdout.write(JSON.stringify({ seeds: runs.map((r) => r.config.rl.seed), dirs, metrics: out }, null, 2) + "\n");
} else {
  const fmt = (v: number, rate: boolean) => (rate ? (100 * v).toFixed(1) : v.toFixed(1));
  process.stdout.write(`seeds ${runs.map((r) => r.config.rl.seed).join(", ")} (${runs[0]!.preset}, ${runs[0]!.world_version}); mean [95% t-interval over seeds]\n\n`);
  process.stdout.write(`| metric | ${models.join(" | ")} |\n|---|${models.map(() => "---").join("|")}|\n`);
  for (const [k, name, rate] of METRICS) {
    const cells = models.map((m) => {
      const s = out[m]![k];
      if (!s) return "-";
      const iv = Number.isFinite(s.lo) ? ` [${fmt(Math.max(rate ? 0 : -Infinity, s.lo), rate)}, ${fmt(Math.min(rate ? 1 : Infinity, s.hi), rate)}]` : "";
      return `${fmt(s.mean, rate)}${iv}`;
    });
    process.stdout.write(`| ${name}${rate ? " %" : ""} | ${cells.join(" | ")} |\n`);
  }
}
