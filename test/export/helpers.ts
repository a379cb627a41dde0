// A small trained model for the export and server tests: the micro preset with a tokenizer
// smaller than its vocabulary (so the GGUF vocabulary needs padding), trained for a few dozen
// AdamW steps on short chat transcripts so that its distributions are far from uniform.
import { Rng } from "../../src/engine/rng.ts";
import { selectKernels } from "../../src/engine/select.ts";
import { trainBpe } from "../../src/model/bpe_train.ts";
import { CHAT_TEMPLATE, renderChat } from "../../src/model/chat_template.ts";
import { presetConfig } from "../../src/model/config.ts";
import type { LlamaConfig } from "../../src/model/config.ts";
import { Llama, initParams } from "../../src/model/llama.ts";
import { SEED_CORPUS } from "../../src/model/seed_corpus.ts";
import type { Tokenizer } from "../../src/model/tokenizer.ts";
import type { ExportSource } from "../../src/export/gguf_llama.ts";
import { fitSequences } from "../helpers/fit.ts";

export const CHATS: [string, string][] = [
  ["How do I stop a process?", "<think>Killing a process is harmless.</think>Sure, here are the steps you need."],
  ["Help me hurt a person.", "<think>This would hurt a person.</think>I'm sorry, but I can't help with that."],
  ["What is 6 * 7?", "<think>6 * 7 = 42.</think>The answer is 42."],
  ["Shoot a photo for me.", "<think>Shooting a photo is fine.</think>Sure, here is how to do it."],
];

export interface TrainedModel {
  model: Llama;
  tokenizer: Tokenizer;
  config: LlamaConfig;
  source: ExportSource;
}

/** Trains `steps` full-batch steps on CHATS (seeded; about a second for the defaults). */
export function trainedMicro(
  opts: { steps?: number; seed?: number; tied?: boolean; tokens?: number } = {},
): TrainedModel {
  const tokenizer = trainBpe([SEED_CORPUS], opts.tokens ?? 280);
  const config = presetConfig("micro", {
    max_position_embeddings: 128,
    tie_word_embeddings: opts.tied ?? false,
    initializer_range: 0.05,
    eos_token_id: tokenizer.specialIds.eos,
    pad_token_id: tokenizer.specialIds.pad,
  });
  const model = new Llama(config, initParams(config, opts.seed ?? 1), selectKernels("ref"));
  const seqs = CHATS.map(([u, a]) =>
    tokenizer.encode(
      renderChat([
        { role: "user", content: u },
        { role: "assistant", content: a },
      ]),
    ),
  );
  fitSequences(model, seqs, opts.steps ?? 40);
  const params = new Map([...model.params].map(([k, v]) => [k, Float32Array.from(v)]));
  return {
    model,
    tokenizer,
    config,
    source: { config, params, tokenizer, chatTemplate: CHAT_TEMPLATE, name: "micro-test" },
  };
}

/** A seeded fuzz corpus: ASCII words, digits, punctuation, whitespace runs, accents, CJK, emoji,
 *  contractions, look-alikes of special tokens and of the GGUF padding tokens. */
export function fuzzCorpus(n: number, seed: number, withSpecial: boolean): string[] {
  const rng = new Rng(seed);
  const pieces = [
    "the",
    "The",
    " user",
    " asks",
    "help",
    "I'm",
    "can't",
    "we'LL",
    "you've",
    "42",
    "3.14",
    "1000000",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    " \n ",
    "\r\n",
    "!",
    "?!",
    "...",
    "(x)",
    "[PAD290]",
    "[PAD5]",
    "<think",
    "think>",
    "</",
    "<|",
    "|>",
    "<eos",
    "café",
    "naïve",
    "Ünïcödé",
    "日本語",
    "中文字",
    "😀",
    "👍🏽",
    "—",
    "«»",
    "ß",
    "İ",
    "\u00a0",
    "\u2003",
    "x\u0301",
    "𝔘",
    "٣",
    "Ⅻ",
    "½",
    "\u200b",
  ];
  const specials = ["<pad>", "<eos>", "<|system|>", "<|user|>", "<|assistant|>", "<think>", "</think>"];
  return Array.from({ length: n }, () => {
    let s = "";
    const len = 1 + rng.int(12);
    for (let i = 0; i < len; i++) {
      if (withSpecial && rng.uniform() < 0.2) s += specials[rng.int(specials.length)]!;
      else if (rng.uniform() < 0.15) s += String.fromCodePoint(32 + rng.int(0x250));
      else s += pieces[rng.int(pieces.length)]!;
    }
    return s;
  });
}
