// Files shared by the training loops' run folders: the metrics log that a resumed run trims
// back to its checkpoint, the config fingerprint that a resume must match, and the resume itself.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type { Kernels } from "../engine/kernels.ts";
import { type TrainerState, loadCheckpoint } from "../model/checkpoint.ts";
import { decayedParamNames } from "../model/config.ts";
import { Llama } from "../model/llama.ts";
import { AdamW } from "../model/optim.ts";
import { Tokenizer } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";

/** A short fingerprint of a config; the kernel choice does not change results' meaning. */
export function hashConfig(c: object): string {
  return crypto
    .createHash("sha256")
    .update(JSON.stringify({ ...c, kernels: undefined }))
    .digest("hex")
    .slice(0, 16);
}

/** Keeps metric lines of steps <= step (drops a torn last line after a crash). */
export function truncateMetrics(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => {
      try {
        return (JSON.parse(l) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  fs.writeFileSync(file, kept.map((l) => l + "\n").join(""));
}

/** A run's last checkpoint with its optimiser state (`--resume`); refuses a checkpoint without
 *  trainer state or one started with another config. */
export async function resumeRun(
  ckptDir: string,
  out: string,
  config: object,
  kernels: Kernels,
): Promise<{ model: Llama; tokenizer: Tokenizer; opt: AdamW; state: TrainerState }> {
  const ck = await loadCheckpoint(ckptDir);
  const state = ck.trainerState;
  if (!state)
    throw new RecapError(`${ckptDir} has no trainer state to resume from`, "start a new run with another --out");
  if (state.extra?.["config_hash"] !== hashConfig(config))
    throw new RecapError(
      `the config differs from the one ${out} was started with`,
      "resume with the same config, or start a new --out",
    );
  const model = new Llama(ck.config, ck.params, kernels);
  model.source = `checkpoint ${ckptDir}`;
  const opt = new AdamW(model.params, kernels, decayedParamNames(ck.config));
  opt.load(state.m, state.v, state.step);
  return { model, tokenizer: Tokenizer.fromJSON(ck.tokenizerJson), opt, state };
}
