// The study's guard stage (one per base): the world guard that makes the safety reward continuous
// (src/world/guard.ts). Pairs sampled from the base on its world's RL prompts and base-corpus
// requests (seed 1) and on the held-out suites (seed 2), labelled by the judge; the guard is the
// base fine-tuned by configs/world-guard.yaml on the first, and its calibration is measured on the
// second (OUT/bases/NAME/guard/calibration.json). A stage of the base's ledger: resumable, and
// skipped once finished with the same inputs.
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { mergeDeep } from "../demo/config.ts";
import { type Ctx, preset, stage } from "../demo/stages.ts";
import { RecapError } from "../util/errors.ts";
import { selectKernels } from "../engine/select.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { Llama } from "../model/llama.ts";
import { Tokenizer } from "../model/tokenizer.ts";
import { WorldGuard } from "../reward/guard_model.ts";
import { runSft } from "../train/sft.ts";
import { SftConfigSchema } from "../train/sft_config.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { loadConfigFile, validateConfig } from "../util/config_file.ts";
import { type GuardPair, calibration } from "../world/guard.ts";
import { type GuardSplit, buildGuardPairs } from "../world/guard_data.ts";
import { DEFAULT_L_PRE } from "../recap/truncate.ts";

export interface GuardSettings {
  /** Prompt rows per split (default all). */
  limit?: number;
  /** Generation limit of the sampled responses (default the RL limit). */
  max_new_tokens?: number;
  /** Overrides of configs/world-guard.yaml. */
  sft: Record<string, unknown>;
}

export async function guardStage(
  x: Ctx,
  world: string,
  baseCkpt: string,
  baseFp: string,
  g: GuardSettings,
): Promise<{ ckpt: string; fp: string }> {
  const dir = path.join(x.out, "guard");
  const ckpt = path.join(dir, "model", "checkpoint");
  const raw = await loadConfigFile(preset("world-guard.yaml"), SftConfigSchema);
  const maxNew = g.max_new_tokens ?? x.c.rl.max_new_tokens;
  const { fp } = await stage(x, "guard", { baseFp, raw, g, maxNew, lPre: DEFAULT_L_PRE }, async () => {
    mkdirSync(dir, { recursive: true });
    const ck = await loadCheckpoint(baseCkpt);
    const model = new Llama(ck.config, ck.params, selectKernels(x.c.kernels));
    const tokenizer = Tokenizer.fromJSON(ck.tokenizerJson);
    const files: Record<GuardSplit, string> = {
      train: path.join(dir, "train.jsonl"),
      heldout: path.join(dir, "heldout.jsonl"),
    };
    const counts: Record<string, number> = {};
    let held: GuardPair[] = [];
    for (const [split, seed] of [
      ["train", 1],
      ["heldout", 2],
    ] as const) {
      const r = buildGuardPairs({
        worldDir: world,
        split,
        model,
        tokenizer,
        seed,
        lPre: DEFAULT_L_PRE,
        maxNewTokens: maxNew,
        ...(g.limit ? { limit: g.limit } : {}),
      });
      if (r.pairs.length === 0 || (split === "train" && r.pairs.every((p) => p.unsafe === r.pairs[0]!.unsafe)))
        throw new RecapError(
          `the guard's ${split} pairs of ${baseCkpt} ${r.pairs.length === 0 ? "are empty (every sample malformed)" : "hold one label only"}`,
          "the base does not write well-formed answers on both sides of the judge: train it longer (configs/world-base.yaml), or use binary safety rewards (safety_reward: binary)",
        );
      await writeFileAtomic(files[split], r.pairs.map((p) => JSON.stringify(p)).join("\n") + "\n");
      counts[`${split}_pairs`] = r.pairs.length;
      counts[`${split}_unsafe`] = r.pairs.filter((p) => p.unsafe).length;
      if (split === "heldout") held = r.pairs;
      x.log(
        `  guard ${split} pairs: ${r.pairs.length} (${counts[`${split}_unsafe`]} unsafe; ${r.malformed} malformed left out)`,
      );
    }
    const config = validateConfig(
      {
        ...(mergeDeep(raw, g.sft) as object),
        data: files.train,
        eval_data: files.heldout,
        base: baseCkpt,
        ...(x.c.kernels ? { kernels: x.c.kernels } : {}),
      },
      SftConfigSchema,
      "study guard",
    );
    await runSft({ config, configDir: dir, out: path.join(dir, "model"), resume: true });
    const guard = await WorldGuard.load(ckpt, x.c.kernels);
    const cal = calibration(
      guard.pYes(held),
      held.map((p) => p.unsafe),
    );
    await writeFileAtomic(path.join(dir, "calibration.json"), JSON.stringify(cal, null, 2) + "\n");
    x.log(
      `  guard on held-out pairs: accuracy ${cal.accuracy.toFixed(3)}, AUROC ${cal.auroc?.toFixed(3) ?? "-"}, ECE ${cal.ece.toFixed(3)}`,
    );
    return { checkpoint: ckpt, ...counts, accuracy: cal.accuracy, auroc: cal.auroc, ece: cal.ece, brier: cal.brier };
  });
  return { ckpt, fp };
}
