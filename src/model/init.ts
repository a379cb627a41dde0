// A fresh checkpoint's contents: a preset config, a BPE tokenizer trained on a corpus (the small
// built-in seed text by default) and seeded HF-style initial weights. `recap model init` writes
// this; the golden files and the acceptance check rebuild it in memory, bit for bit.
import { type LlamaConfig, presetConfig } from "./config.ts";
import { initParams } from "./llama.ts";
import { trainBpe } from "./bpe_train.ts";
import { tokenizerConfig } from "./chat_template.ts";
import { SEED_CORPUS } from "./seed_corpus.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface FreshModel {
  config: LlamaConfig;
  params: Map<string, Float32Array>;
  tokenizer: Tokenizer;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
}

export function freshModel(
  preset: string,
  seed: number,
  opts: { corpus?: string; overrides?: Partial<LlamaConfig> } = {},
): FreshModel {
  let config = presetConfig(preset, opts.overrides);
  const tokenizer = trainBpe([opts.corpus ?? SEED_CORPUS], config.vocab_size);
  config = { ...config, eos_token_id: tokenizer.specialIds.eos, pad_token_id: tokenizer.specialIds.pad };
  return {
    config,
    params: initParams(config, seed),
    tokenizer,
    tokenizerJson: tokenizer.toJSON(),
    tokenizerConfig: tokenizerConfig(tokenizer, config.max_position_embeddings),
  };
}
