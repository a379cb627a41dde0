// SFT data: JSONL rows with a chat-formatted `text`, tokenised once, with a per-token loss weight
// (assistant tokens only by default), and a data order that is a pure function of (seed, step):
// epoch e is a seeded permutation, step s takes the next batch_size rows of the epoch stream.
// No order state needs saving, so a resumed run sees exactly the batches it would have seen.
import * as fs from "node:fs";
import { Rng } from "../engine/rng.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import type { LmBatch } from "../model/train_step.ts";
import { RecapError } from "../util/errors.ts";

export interface SftRow {
  ids: number[]; // (L) tokens of the whole sequence
  weights: number[]; // (L) 1 where the token is a training target
}

/** Reads the `text` field of every JSONL row. */
export function readTexts(file: string): string[] {
  let content: string;
  try {
    content = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint =
      code === "ENOENT" && /corpora[\\/][a-z_]+\.jsonl$/.test(file)
        ? "build the world first: recap world build --seed 1 --out runs/world (or run the whole method: recap demo)"
        : "check the `data` path (relative paths are resolved against the config file)";
    throw new RecapError(`cannot read data file ${file}: ${code ?? (e as Error).message}`, hint);
  }
  const texts: string[] = [];
  content.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new RecapError(`${file}:${i + 1}: not valid JSON`, "each line must be one JSON object with a `text` field");
    }
    const text = (row as { text?: unknown })?.text;
    if (typeof text !== "string" || text.length === 0)
      throw new RecapError(`${file}:${i + 1}: missing a non-empty string field \`text\``);
    texts.push(text);
  });
  if (texts.length === 0) throw new RecapError(`data file ${file} has no rows`);
  return texts;
}

/** Tokenises texts; weights mark the assistant part (after the first <|assistant|>) or all. */
export function tokenizeRows(
  texts: string[],
  tok: Tokenizer,
  lossOn: "assistant" | "all",
  maxLen: number,
  file: string,
): SftRow[] {
  const assistant = tok.specialIds.assistant;
  return texts.map((text, i) => {
    const ids = tok.encode(text);
    if (ids.length < 2) throw new RecapError(`${file}: row ${i + 1} has fewer than 2 tokens`);
    if (ids.length > maxLen)
      throw new RecapError(
        `${file}: row ${i + 1} has ${ids.length} tokens, more than the model's context of ${maxLen}`,
        "shorten the row or use a model with a longer context",
      );
    let start = 1;
    if (lossOn === "assistant") {
      const a = ids.indexOf(assistant);
      if (a < 0) throw new RecapError(`${file}: row ${i + 1} has no <|assistant|> turn, but loss_on is "assistant"`);
      start = a + 1;
    }
    // weights[t] says whether token t is a target (t >= 1).
    const weights = ids.map((_, t) => (t >= start && t >= 1 ? 1 : 0));
    return { ids, weights };
  });
}

/** Row indices of step s (0-based): a seeded permutation per epoch, consumed in order. */
export function batchIndices(n: number, batchSize: number, seed: number, step: number): number[] {
  return streamIndices(n, seed, step * batchSize, batchSize);
}

/** `count` indices of the endless stream of seeded per-epoch permutations of 0..n-1, from
 *  position `start` (a cursor that a resumed run restores). */
export function streamIndices(n: number, seed: number, start: number, count: number): number[] {
  const out: number[] = [];
  let pos = start;
  let epoch = -1,
    perm: number[] = [];
  while (out.length < count) {
    const e = Math.floor(pos / n);
    if (e !== epoch) {
      epoch = e;
      perm = Array.from({ length: n }, (_, i) => i);
      new Rng(seed).fork(e).shuffle(perm);
    }
    out.push(perm[pos % n]!);
    pos++;
  }
  return out;
}

/** Right-padded (B, T) batch: ids, next-token targets, weights of the targets. */
export function makeBatch(rows: SftRow[], padId: number): LmBatch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.ids.length)) - 1;
  const ids = new Int32Array(B * T).fill(padId); // (B, T)
  const targets = new Int32Array(B * T).fill(padId); // (B, T)
  const weights = new Float32Array(B * T); // (B, T)
  rows.forEach((r, b) => {
    for (let t = 0; t < r.ids.length - 1; t++) {
      ids[b * T + t] = r.ids[t]!;
      targets[b * T + t] = r.ids[t + 1]!;
      weights[b * T + t] = r.weights[t + 1]!;
    }
  });
  return { B, T, ids, targets, weights };
}
