// Checkpoints as Hugging Face style folders: config.json, model.safetensors (F32), tokenizer.json,
// tokenizer_config.json, plus an optional training sidecar (trainer_state.json and
// optimizer.safetensors with Adam's m and v) so that training can resume. Saving is atomic
// (replaceDirAtomic); loading validates everything and throws one-line RecapErrors.
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { parseConfig, paramSpecs, numel } from "./config.ts";
import type { LlamaConfig, ParamSpec } from "./config.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
import type { DecodedSafetensors, TensorToEncode } from "./safetensors.ts";
import { replaceDirAtomic } from "../util/atomic.ts";
import { RecapError } from "../util/errors.ts";

export interface ModelWeights {
  config: LlamaConfig;
  /** Keyed by the HF names from paramSpecs; each a flat row-major Float32Array. */
  params: Map<string, Float32Array>;
}

/** What training needs to resume exactly: step, RNG state and Adam's moment estimates. */
export interface TrainerState {
  step: number;
  rngState: number[];
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  extra?: Record<string, unknown>;
}

export interface CheckpointContents extends ModelWeights {
  tokenizerJson: object;
  tokenizerConfig: object;
  trainerState?: TrainerState;
}

export interface LoadedCheckpoint extends ModelWeights {
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  trainerState?: TrainerState;
}

/** The largest |weight| a checkpoint may hold. Trained weights are orders of magnitude smaller;
 *  beyond this (norm weights of 3e38 passed before) activations overflow float32 and a forward
 *  pass gives NaN / Infinity log-probs, garbage samples and `<pad>` replies. */
export const MAX_ABS_WEIGHT = 1e4;

export const CONFIG_FILE = "config.json";
export const WEIGHTS_FILE = "model.safetensors";
export const TOKENIZER_FILE = "tokenizer.json";
export const TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
const REQUIRED_FILES = [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE];

// ---------------------------------------------------------------------------------------------
// Saving.

/** Throws unless `tensors` holds exactly the specs' names with matching lengths. */
function checkTensorSet(specs: ParamSpec[], tensors: Map<string, Float32Array>, what: string): void {
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (!t) throw new RecapError(`cannot save checkpoint: ${what} has no tensor "${s.name}"`);
    if (t.length !== numel(s.shape))
      throw new RecapError(
        `cannot save checkpoint: ${what} tensor "${s.name}" has ${t.length} values, expected ${numel(s.shape)} for shape [${s.shape.join(", ")}]`,
      );
  }
  const known = new Set(specs.map((s) => s.name));
  for (const name of tensors.keys())
    if (!known.has(name))
      throw new RecapError(
        `cannot save checkpoint: ${what} has unexpected tensor "${name}" not in the config's layout`,
      );
}

function f32Tensors(
  specs: ParamSpec[],
  tensors: Map<string, Float32Array>,
  prefix = "",
): Record<string, TensorToEncode> {
  const out: Record<string, TensorToEncode> = Object.create(null) as Record<string, TensorToEncode>;
  for (const s of specs) out[prefix + s.name] = { dtype: "F32", shape: s.shape, data: tensors.get(s.name)! };
  return out;
}

function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** config.json's content: the config with the HF identification fields first. */
export function configJson(config: LlamaConfig): string {
  return prettyJson({ ...config, architectures: ["LlamaForCausalLM"], model_type: "llama" });
}

async function writeTrainerState(dir: string, specs: ParamSpec[], st: TrainerState): Promise<void> {
  const state = { step: st.step, rng_state: st.rngState, extra: st.extra ?? {} };
  await fsp.writeFile(path.join(dir, TRAINER_STATE_FILE), prettyJson(state));
  const tensors = { ...f32Tensors(specs, st.m, "m."), ...f32Tensors(specs, st.v, "v.") };
  await fsp.writeFile(path.join(dir, OPTIMIZER_FILE), encodeSafetensors(tensors, { format: "recap-adam" }));
}

/**
 * Writes the checkpoint folder `dir` atomically: either the old folder or the complete new one is
 * in place afterwards (see replaceDirAtomic). An existing folder is replaced entirely.
 */
export async function saveCheckpoint(dir: string, c: CheckpointContents): Promise<void> {
  const specs = paramSpecs(c.config);
  checkTensorSet(specs, c.params, "params");
  const st = c.trainerState;
  if (st) {
    if (!Number.isSafeInteger(st.step) || st.step < 0)
      throw new RecapError(`cannot save checkpoint: trainer step ${st.step} is not a non-negative integer`);
    if (!st.rngState.every((x) => Number.isFinite(x)))
      throw new RecapError("cannot save checkpoint: trainer rngState holds a non-finite number");
    checkTensorSet(specs, st.m, "optimizer m");
    checkTensorSet(specs, st.v, "optimizer v");
  }
  const weights = encodeSafetensors(f32Tensors(specs, c.params), { format: "pt" });
  await replaceDirAtomic(dir, async (tmp) => {
    await fsp.writeFile(path.join(tmp, CONFIG_FILE), configJson(c.config));
    await fsp.writeFile(path.join(tmp, WEIGHTS_FILE), weights);
    await fsp.writeFile(path.join(tmp, TOKENIZER_FILE), prettyJson(c.tokenizerJson));
    await fsp.writeFile(path.join(tmp, TOKENIZER_CONFIG_FILE), prettyJson(c.tokenizerConfig));
    if (st) await writeTrainerState(tmp, specs, st);
  });
}

// ---------------------------------------------------------------------------------------------
// Loading.

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Reads a file, turning I/O failures into a RecapError that names it. */
async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fsp.readFile(file));
  } catch (e) {
    throw new RecapError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

async function readJson(file: string, hint: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readBytes(file));
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RecapError(`${file} is not valid JSON: ${(e as Error).message}`, hint);
  }
}

async function checkDir(dir: string): Promise<void> {
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(dir);
  } catch {
    throw new RecapError(
      `checkpoint directory ${dir} does not exist`,
      "check the path, or train a model first to create it",
    );
  }
  if (!st.isDirectory())
    throw new RecapError(
      `checkpoint path ${dir} is not a directory`,
      "pass the checkpoint folder, not a file inside it",
    );
  const missing: string[] = [];
  for (const f of REQUIRED_FILES) if (!(await isFile(path.join(dir, f)))) missing.push(f);
  if (missing.length > 0)
    throw new RecapError(
      `checkpoint ${dir} is missing ${missing.join(", ")}`,
      "a checkpoint folder needs config.json, model.safetensors, tokenizer.json and tokenizer_config.json; re-save it",
    );
}

async function loadConfig(dir: string): Promise<LlamaConfig> {
  const file = path.join(dir, CONFIG_FILE);
  const raw = await readJson(file, "fix the file by hand or re-save the checkpoint");
  try {
    return parseConfig(raw, file);
  } catch (e) {
    throw new RecapError((e as Error).message, `fix the field in ${file}`);
  }
}

/** Checks a decoded file holds exactly `specs` (names, shapes, float dtype, finite), returns F32 arrays. */
function matchTensors(
  decoded: DecodedSafetensors,
  specs: ParamSpec[],
  file: string,
  opts: { allowHalf: boolean; hint: string; maxAbs?: number },
): Map<string, Float32Array> {
  const hint = opts.hint;
  const out = new Map<string, Float32Array>();
  const expected = new Set(specs.map((s) => s.name));
  for (const name of decoded.tensors.keys())
    if (!expected.has(name))
      throw new RecapError(`${file}: unexpected tensor "${name}" (not in the layout config.json describes)`, hint);
  for (const s of specs) {
    const name = s.name;
    const t = decoded.tensors.get(name);
    if (!t) throw new RecapError(`${file}: missing tensor "${name}"`, hint);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]))
      throw new RecapError(
        `${file}: tensor "${name}" has shape [${t.shape.join(", ")}], expected [${s.shape.join(", ")}]`,
        hint,
      );
    if (t.dtype !== "F32" && !(opts.allowHalf && (t.dtype === "F16" || t.dtype === "BF16")))
      throw new RecapError(
        `${file}: tensor "${name}" has dtype ${t.dtype}, expected F32${opts.allowHalf ? " (or F16/BF16)" : ""}`,
        "re-save the tensor as float32",
      );
    const data = t.data as Float32Array;
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0)
      throw new RecapError(
        `${file}: tensor "${name}" holds ${data[bad]} at index ${bad}; weights must be finite`,
        "the run diverged before this was saved: resume from an earlier checkpoint or lower the learning rate",
      );
    if (opts.maxAbs !== undefined) {
      const max = opts.maxAbs;
      const big = data.findIndex((x) => x > max || x < -max);
      if (big >= 0)
        throw new RecapError(
          `${file}: tensor "${name}" holds ${data[big]} at index ${big}, beyond the weight limit ${max} (a forward pass with it is not finite)`,
          "the checkpoint is corrupt or its run diverged: restore it, or resume from an earlier checkpoint with a lower learning rate",
        );
    }
    out.set(s.name, data);
  }
  return out;
}

const SIDECAR_HINT =
  "the training sidecar does not match the model: delete trainer_state.json and optimizer.safetensors to load weights only";

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Parses trainer_state.json's fields. */
function parseTrainerJson(raw: unknown, file: string): Pick<TrainerState, "step" | "rngState" | "extra"> {
  const hint = SIDECAR_HINT;
  if (!isPlainObject(raw)) throw new RecapError(`${file} is not a JSON object`, hint);
  const { step, rng_state: rng, extra } = raw;
  if (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0)
    throw new RecapError(`${file}: "step" must be a non-negative integer, found ${JSON.stringify(step)}`, hint);
  if (!Array.isArray(rng) || !rng.every((x) => typeof x === "number" && Number.isFinite(x)))
    throw new RecapError(`${file}: "rng_state" must be an array of numbers`, hint);
  if (extra !== undefined && !isPlainObject(extra))
    throw new RecapError(`${file}: "extra" must be a JSON object`, hint);
  return { step, rngState: rng as number[], extra: extra ?? {} };
}

/** Loads the optional training sidecar; both files or neither must be present. */
async function loadTrainerState(dir: string, specs: ParamSpec[]): Promise<TrainerState | undefined> {
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  const optFile = path.join(dir, OPTIMIZER_FILE);
  const [hasState, hasOpt] = [await isFile(stateFile), await isFile(optFile)];
  if (!hasState && !hasOpt) return undefined;
  if (!hasState || !hasOpt)
    throw new RecapError(
      `checkpoint ${dir} has ${hasState ? TRAINER_STATE_FILE : OPTIMIZER_FILE} but not ${hasState ? OPTIMIZER_FILE : TRAINER_STATE_FILE}`,
      "the training sidecar is incomplete: delete the remaining file to load weights only",
    );
  const fields = parseTrainerJson(
    await readJson(stateFile, "delete the sidecar files to load weights only"),
    stateFile,
  );
  const decoded = decodeSafetensors(await readBytes(optFile), optFile);
  const mv = new Map<string, Float32Array>();
  const mSpecs = specs.map((s) => ({ name: `m.${s.name}`, shape: s.shape }));
  const vSpecs = specs.map((s) => ({ name: `v.${s.name}`, shape: s.shape }));
  for (const [k, t] of matchTensors(decoded, [...mSpecs, ...vSpecs], optFile, { allowHalf: false, hint: SIDECAR_HINT }))
    mv.set(k, t);
  const strip = (p: string) => new Map(specs.map((s) => [s.name, mv.get(p + s.name)!]));
  return { ...fields, m: strip("m."), v: strip("v.") };
}

/** Loads and validates a checkpoint folder; every user-facing problem is a one-line RecapError. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  await checkDir(dir);
  const config = await loadConfig(dir);
  const specs = paramSpecs(config);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  const params = matchTensors(decodeSafetensors(await readBytes(weightsFile), weightsFile), specs, weightsFile, {
    allowHalf: true,
    maxAbs: MAX_ABS_WEIGHT,
    hint: `${weightsFile} does not match config.json: re-save the checkpoint or fix config.json`,
  });
  const tokHint = "re-save the checkpoint or copy a valid tokenizer into it";
  const tokenizerJson = await readJson(path.join(dir, TOKENIZER_FILE), tokHint);
  const tokenizerConfig = await readJson(path.join(dir, TOKENIZER_CONFIG_FILE), tokHint);
  const trainerState = await loadTrainerState(dir, specs);
  return trainerState
    ? { config, params, tokenizerJson, tokenizerConfig, trainerState }
    : { config, params, tokenizerJson, tokenizerConfig };
}
