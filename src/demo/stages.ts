// The demo's stages, shared by `recap demo` and `recap study`: each runs once, is recorded in the
// folder's ledger (state.ts) with the fingerprint of what it ran with, and is skipped on a re-run
// with the same inputs. The stage configs come from the presets in configs/ with the demo's knobs
// (and, for a study arm, the arm's overrides) laid over them, so a stage is exactly what the
// corresponding command (`recap world build`, `recap sft`, `recap train`, `recap eval`) would run.
import * as path from "node:path";
import { parseAttackList } from "../eval/attacks/index.ts";
import { resolveGrader } from "../graders/resolve.ts";
import { HttpOptionsSchema } from "../lm/providers/http.ts";
import { openProvider } from "../lm/providers/index.ts";
import { runEval } from "../eval/runner.ts";
import { resolveSuites } from "../eval/suites.ts";
import { runTrain } from "../train/rl.ts";
import { TrainConfigSchema } from "../train/rl_config.ts";
import { runSft } from "../train/sft.ts";
import { SftConfigSchema } from "../train/sft_config.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { loadConfigFile, validateConfig } from "../util/config_file.ts";
import { buildWorld } from "../world/build.ts";
import { parseWorldConfig } from "../world/config.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import { writeWorld } from "../world/write.ts";
import { type DemoConfig, mergeDeep } from "./config.ts";
import { REPO_ROOT, copyShipped, shippedBaseDir, shippedMismatch } from "./shipped.ts";
import { type DemoState, fingerprint, finished, writeState } from "./state.ts";

export interface Ctx {
  c: DemoConfig;
  out: string;
  state: DemoState;
  log: (line: string) => void;
  index: number;
  total: number;
  /** Names the run in config errors (default "demo"). */
  label?: string;
}

/** Runs one stage unless it finished with the same fingerprint; records it when done. */
export async function stage(
  x: Ctx,
  name: string,
  fpInput: unknown,
  body: () => Promise<Record<string, unknown>>,
): Promise<{ fp: string; result: Record<string, unknown> }> {
  x.index++;
  const fp = fingerprint(fpInput);
  const done = finished(x.state, name, fp, x.out);
  if (done) {
    x.log(`[${x.index}/${x.total}] ${name}: done earlier (${done.seconds.toFixed(0)} s), skipped`);
    return { fp, result: done.result };
  }
  x.log(`[${x.index}/${x.total}] ${name} …`);
  const t0 = performance.now();
  const result = await body();
  const seconds = (performance.now() - t0) / 1000;
  x.state.stages[name] = { fingerprint: fp, seconds, finished_at: new Date().toISOString(), result };
  await writeState(x.out, x.state);
  x.log(`[${x.index}/${x.total}] ${name}: ${seconds.toFixed(0)} s`);
  return { fp, result };
}

export function preset(file: string): string {
  return path.join(REPO_ROOT, "configs", file);
}

export async function worldStage(x: Ctx): Promise<{ dir: string; fp: string }> {
  const dir = path.join(x.out, "world");
  const { fp } = await stage(x, "world", { v: WORLD_VERSION, seed: x.c.world_seed }, async () => {
    await writeWorld(dir, buildWorld(x.c.world_seed, parseWorldConfig({})));
    return { dir };
  });
  return { dir, fp };
}

/** `initSeed`: the init seed of a base trained here (default configs/world-base.yaml's). */
export async function baseStage(
  x: Ctx,
  world: string,
  worldFp: string,
  initSeed?: number,
): Promise<{ ckpt: string; fp: string; source: string }> {
  const dir = path.join(x.out, "base");
  const ckpt = path.join(dir, "checkpoint");
  const shipped = shippedBaseDir(x.c.world_seed);
  const why = x.c.base === "shipped" ? shippedMismatch(shipped, world) : "base: train";
  const source =
    why === undefined ? `shipped (${path.relative(REPO_ROOT, shipped)})` : "trained (configs/world-base.yaml)";
  const kernels = x.c.kernels ? { kernels: x.c.kernels } : {};
  const fpIn = {
    worldFp,
    source,
    kernels,
    steps: why === undefined ? null : (x.c.base_train_steps ?? null),
    ...(initSeed !== undefined && why !== undefined ? { initSeed } : {}),
  };
  const { fp } = await stage(x, "base", fpIn, async () => {
    if (why === undefined) {
      x.log(`  using the shipped base ${path.relative(REPO_ROOT, shipped)} (trained on this world's corpus)`);
      await copyShipped(shipped, ckpt);
      return { checkpoint: ckpt, source };
    }
    if (x.c.base === "shipped") x.log(`  training the base instead of the shipped one: ${why}`);
    const raw = await loadConfigFile(preset("world-base.yaml"), SftConfigSchema);
    const steps = x.c.base_train_steps ?? raw.steps;
    const config = validateConfig(
      {
        ...raw,
        data: path.resolve(world, "corpora/base_sft.jsonl"),
        steps,
        warmup_steps: Math.min(raw.warmup_steps, steps),
        ...kernels,
        ...(initSeed !== undefined && raw.init ? { init: { ...raw.init, seed: initSeed } } : {}),
      },
      SftConfigSchema,
      "demo base",
    );
    const s = await runSft({ config, configDir: dir, out: dir, resume: true });
    return { checkpoint: s.checkpoint, source, steps: s.steps, final_loss: s.final_loss };
  });
  return { ckpt, fp, source };
}

export async function sftStage(
  x: Ctx,
  world: string,
  base: string,
  baseFp: string,
): Promise<{ ckpt: string; fp: string }> {
  const dir = path.join(x.out, "sft");
  const raw = await loadConfigFile(preset("world-sft-baseline.yaml"), SftConfigSchema);
  const config = validateConfig(
    {
      ...raw,
      data: path.resolve(world, "corpora/sft_baseline.jsonl"),
      base,
      steps: x.c.sft_baseline_steps,
      warmup_steps: Math.min(raw.warmup_steps, x.c.sft_baseline_steps),
      ...(x.c.kernels ? { kernels: x.c.kernels } : {}),
    },
    SftConfigSchema,
    "demo sft baseline",
  );
  const { fp } = await stage(
    x,
    "sft",
    { baseFp, config: { ...config, data: undefined, base: undefined } },
    async () => {
      const s = await runSft({ config, configDir: dir, out: dir, resume: true });
      return { checkpoint: s.checkpoint, steps: s.steps, final_loss: s.final_loss };
    },
  );
  return { ckpt: path.join(dir, "checkpoint"), fp };
}

/** One RL run from the base: `presetFile` (configs/) + the demo's rl knobs + `overrides` (any
 *  train-config fields, merged deeply; a study arm's). Written to OUT/NAME, its resolved config
 *  to OUT/NAME.config.json. */
export async function rlStage(
  x: Ctx,
  name: string,
  presetFile: string,
  world: string,
  base: string,
  baseFp: string,
  overrides: unknown = {},
): Promise<{ ckpt: string; fp: string }> {
  const dir = path.join(x.out, name);
  const raw = await loadConfigFile(preset(presetFile), TrainConfigSchema);
  const r = x.c.rl;
  const merged = mergeDeep(
    {
      ...raw,
      world,
      base,
      steps: r.steps,
      prompts_per_step: r.prompts_per_step,
      group_size: r.group_size,
      max_new_tokens: r.max_new_tokens,
      lr: r.lr,
      seed: r.seed,
      save_every: Math.max(1, Math.min(10, r.steps)),
      recap: { ...raw.recap, alpha: r.alpha, l_pre: r.l_pre },
      ...(x.c.kernels ? { kernels: x.c.kernels } : {}),
    },
    overrides,
  );
  const config = validateConfig(merged, TrainConfigSchema, `${x.label ?? "demo"} ${name}`);
  const { fp } = await stage(
    x,
    name,
    { baseFp, config: { ...config, world: undefined, base: undefined } },
    async () => {
      await writeFileAtomic(path.join(x.out, `${name}.config.json`), JSON.stringify(config, null, 2) + "\n");
      const s = await runTrain({ config, configDir: dir, out: dir, resume: true });
      return { checkpoint: s.checkpoint, steps: s.steps, first_reward: s.first_reward, last_reward: s.last_reward };
    },
  );
  return { ckpt: path.join(dir, "checkpoint"), fp };
}

export async function evalStage(x: Ctx, name: string, world: string, ckpt: string, modelFp: string): Promise<string> {
  const dir = path.join(x.out, "eval", name);
  const e = x.c.eval;
  await stage(x, `eval ${name}`, { modelFp, e }, async () => {
    const provider = await openProvider({
      model: ckpt,
      ...(x.c.kernels ? { kernels: x.c.kernels } : {}),
      batchRows: e.batch,
      http: HttpOptionsSchema.parse({}),
    });
    try {
      const tok = provider.tokenizer?.();
      const summary = await runEval({
        provider,
        grader: resolveGrader("world"),
        suites: await resolveSuites(e.suites.join(","), world),
        attacks: parseAttackList(e.attacks.join(","), tok ? { tokenizer: tok } : {}),
        n: 1,
        limit: e.limit,
        outDir: dir,
        ...(e.plan ? { only: (suite: string, attack: string) => e.plan![suite]?.includes(attack) ?? true } : {}),
        params: { maxTokens: e.max_new_tokens, temperature: e.temperature, topP: e.top_p, seed: e.seed },
        identity: { demo_model: name },
        onStart: (line) => x.log(`  eval ${name}: ${line}`),
      });
      return { dir, cells: summary.cells.length };
    } finally {
      await provider.close?.();
    }
  });
  return dir;
}
