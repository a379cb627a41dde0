// The generation limit against the answers the policy learned to write: src/rl/overlong.ts'
// checkMaxNewTokens on the longest answer (thinking, response and end token) of the world's base
// corpus, in the policy's tokens. A limit below it (minus the overlong buffer) cuts or penalises
// whole re-checked answers, which reads as the policy failing, not as a short budget; the trainer
// says so at start and records the check in summary.json. It warns rather than refuses, since
// smoke runs shorten the limit on purpose.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Tokenizer } from "../model/tokenizer.ts";
import { checkMaxNewTokens } from "../rl/overlong.ts";
import { isRecapError } from "../util/errors.ts";
import { readWorldJsonl } from "../world/read.ts";

export interface GenerationLimitCheck {
  max_new_tokens: number;
  buffer_len: number;
  /** Tokens of the base corpus's longest answer (after `<|assistant|>`, with the end token). */
  longest_answer: number;
  ok: boolean;
  /** Why not, with the fix (absent when ok). */
  warning?: string;
}

/** Null when the world has no base corpus to measure (a prompts-only folder). */
export function checkGenerationLimit(
  worldDir: string,
  tok: Tokenizer,
  maxNewTokens: number,
  bufferLen: number,
): GenerationLimitCheck | null {
  const file = path.join(worldDir, "corpora", "base_sft.jsonl");
  if (!fs.existsSync(file)) return null;
  const marker = "<|assistant|>";
  let longest = 0;
  for (const row of readWorldJsonl<{ text?: string }>(file)) {
    const at = row.text?.indexOf(marker) ?? -1;
    if (at < 0) continue;
    longest = Math.max(longest, tok.encode(row.text!.slice(at + marker.length)).length);
  }
  const out: GenerationLimitCheck = {
    max_new_tokens: maxNewTokens,
    buffer_len: bufferLen,
    longest_answer: longest,
    ok: true,
  };
  try {
    checkMaxNewTokens(maxNewTokens, longest, bufferLen);
  } catch (e) {
    if (!isRecapError(e)) throw e;
    out.ok = false;
    out.warning = `${e.message}; ${e.hint}`;
  }
  return out;
}
