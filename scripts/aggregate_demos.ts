// Aggregates several `recap demo` runs that differ only in their RL seed (`recap demo --seed N
// --out DIR`) into one table: per model and metric, the mean over seeds with a 95% Student-t
// interval over seeds (the spread of training, not of the evaluation sample), and the per-seed
// values. Prints Markdown (or JSON with --json). `recap study` does the same for its arms.
//
//   node --import tsx scripts/aggregate_demos.ts runs/demo runs/demo-seed1 runs/demo-seed2
import * as fs from "node:fs";
import * as path from "node:path";
import { STUDY_METRICS, aggregateSeeds, markdownTable } from "../src/study/aggregate.ts";

interface DemoSummary {
  preset: string;
  world_version: string;
  runs: Record<string, Record<string, number | null>>;
  config: { rl: { seed: number } };
}

const json = process.argv.includes("--json");
const dirs = process.argv.slice(2).filter((a) => a !== "--json");
if (dirs.length === 0) {
  process.stderr.write("usage: aggregate_demos.ts DEMO_DIR... [--json]\n");
  process.exit(1);
}
const runs = dirs.map((d) => JSON.parse(fs.readFileSync(path.join(d, "summary.json"), "utf8")) as DemoSummary);
const models = Object.keys(runs[0]!.runs);
const keys = STUDY_METRICS.map(([k]) => k);
const out = Object.fromEntries(
  models.map((m) => [
    m,
    aggregateSeeds(
      runs.map((r) => r.runs[m] ?? {}),
      keys,
    ),
  ]),
);
const seeds = runs.map((r) => r.config.rl.seed);
if (json) {
  process.stdout.write(JSON.stringify({ seeds, dirs, metrics: out }, null, 2) + "\n");
} else {
  process.stdout.write(
    `seeds ${seeds.join(", ")} (${runs[0]!.preset}, ${runs[0]!.world_version}); mean [95% t-interval over seeds]\n\n`,
  );
  process.stdout.write(markdownTable(out));
}
