// `node --import tsx bench/rl_step.ts [--group-sizes 8,16] [--steps 3] [--prompts 16]
//                                    [--kernels K] [--world DIR] [--json]`:
// the time of an RL step of the demo's RECAP run on the current world, so that demo and study
// budgets can be planned from it. Each group size runs in a fresh process (its peak RSS is the
// step's, not the benchmark's): `recap train` with configs/world-recap.yaml, the shipped base,
// and the quick demo's knobs (16 prompts per step, 352-token limit, dynamic sampling with up to
// 3 rounds), for `--steps` steps from the base. Per step it reports the rollout and update
// seconds the trainer writes to metrics.jsonl, the rollouts sampled (every round's, dropped
// groups included) and their generated tokens, so:
//   rollout tokens/s = generated tokens of every sampled rollout / rollout seconds
//   update tokens/s  = generated tokens of the kept rollouts / update seconds
// Step 1 includes the JIT warm-up; `mean_after_first` leaves it out. The world is built once
// into a temporary folder (or --world DIR, an existing build of the current version).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { prepareTrainInputs } from "../src/demo/inputs.ts";
import { disposeKernels } from "../src/engine/select.ts";
import { loadConfigFile } from "../src/util/config_file.ts";
import { TrainConfigSchema } from "../src/train/rl_config.ts";
import { runTrain } from "../src/train/rl.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (n: string): string | undefined => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const log = (s: string) => process.stderr.write(s + "\n");

interface StepLine {
  "time/rollout_s": number;
  "time/update_s": number;
  "rollout/gen_tokens": number;
  "sampling/kept_groups": number;
  "sampling/dropped_groups": number;
}

/** One child run: prints {steps: [...], peak_rss_mib, kernels} as one JSON line. */
async function child(): Promise<void> {
  const G = Number(flag("--group-size"));
  const steps = Number(flag("--steps"));
  const prompts = Number(flag("--prompts"));
  const out = flag("--out")!;
  const kernels = flag("--kernels");
  const raw = await loadConfigFile(path.join(ROOT, "configs", "world-recap.yaml"), TrainConfigSchema);
  const config = await prepareTrainInputs(
    TrainConfigSchema.parse({
      ...raw,
      world: flag("--world")!,
      steps,
      prompts_per_step: prompts,
      group_size: G,
      save_every: 1000,
      ...(kernels ? { kernels } : {}),
    }),
    ROOT,
    () => {},
  );
  const s = await runTrain({ config, configDir: ROOT, out });
  const lines = fs
    .readFileSync(path.join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as StepLine);
  const perStep = lines.map((l) => {
    const sampled = (l["sampling/kept_groups"] + l["sampling/dropped_groups"]) * G;
    const genAll = sampled * l["rollout/gen_tokens"];
    const genKept = l["sampling/kept_groups"] * G * l["rollout/gen_tokens"];
    return {
      rollout_s: l["time/rollout_s"],
      update_s: l["time/update_s"],
      step_s: l["time/rollout_s"] + l["time/update_s"],
      rollouts: sampled,
      kept_groups: l["sampling/kept_groups"],
      gen_tokens_mean: l["rollout/gen_tokens"],
      rollout_tokens_per_s: genAll / l["time/rollout_s"],
      update_tokens_per_s: genKept / l["time/update_s"],
    };
  });
  process.stdout.write(
    JSON.stringify({ kernels: s.kernels, steps: perStep, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }) + "\n",
  );
  disposeKernels();
}

type PerStep = Record<string, number>;
function mean(rows: PerStep[], key: string): number {
  return rows.reduce((a, r) => a + r[key]!, 0) / Math.max(1, rows.length);
}

async function main(): Promise<void> {
  const sizes = (flag("--group-sizes") ?? "8,16").split(",").map(Number);
  const steps = Number(flag("--steps") ?? 3),
    prompts = Number(flag("--prompts") ?? 16);
  if (!(steps >= 1) || !(prompts >= 1) || sizes.some((g) => !(g >= 2)))
    throw new Error("--steps and --prompts must be >= 1 and every group size >= 2");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-rl-bench-"));
  const world = flag("--world") ?? path.join(tmp, "world");
  const result: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
    config: `configs/world-recap.yaml, shipped base, ${prompts} prompts per step, ${steps} steps from the base`,
    load: { before: os.loadavg() },
  };
  try {
    for (const G of sizes) {
      log(`RL step, G = ${G} (${steps} steps, fresh process) ...`);
      const r = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          fileURLToPath(import.meta.url),
          "--child",
          "--group-size",
          String(G),
          "--steps",
          String(steps),
          "--prompts",
          String(prompts),
          "--world",
          world,
          "--out",
          path.join(tmp, `run-g${G}`),
          ...(flag("--kernels") ? ["--kernels", flag("--kernels")!] : []),
        ],
        {
          encoding: "utf8",
          timeout: 3_600_000,
          cwd: ROOT,
        },
      );
      if (r.status !== 0)
        throw new Error(`the G = ${G} run failed: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`);
      const c = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
        kernels: string;
        steps: PerStep[];
        peak_rss_mib: number;
      };
      const later = c.steps.slice(1);
      const summary = Object.fromEntries(
        ["step_s", "rollout_s", "update_s", "rollout_tokens_per_s", "update_tokens_per_s", "rollouts"].map((k) => [
          k,
          { mean_after_first: later.length ? mean(later, k) : null, first: c.steps[0]![k] },
        ]),
      );
      result[`g${G}`] = { group_size: G, kernels: c.kernels, peak_rss_mib: c.peak_rss_mib, summary, per_step: c.steps };
      const s = summary as Record<string, { mean_after_first: number | null; first: number }>;
      const show = (k: string) => (s[k]!.mean_after_first ?? s[k]!.first).toFixed(k.includes("tokens") ? 0 : 2);
      log(
        `  [${c.kernels}] step ${show("step_s")} s (rollouts ${show("rollout_s")} s, update ${show("update_s")} s), ` +
          `${show("rollouts")} rollouts, rollout ${show("rollout_tokens_per_s")} tokens/s, update ${show("update_tokens_per_s")} tokens/s, ` +
          `peak RSS ${c.peak_rss_mib.toFixed(0)} MiB`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  (result["load"] as Record<string, unknown>)["after"] = os.loadavg();
  if (args.includes("--json")) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}

if (args.includes("--child")) await child();
else await main();
