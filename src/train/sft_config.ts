// The supervised fine-tuning config (`recap sft --config FILE`): every knob documented where it
// is defined. Used to train the world's base reasoning model, pi_harm / pi_refuse and the SFT
// baseline; the paper's SFT baseline row is a fine-tune on safe traces only.
import { z } from "zod";
import { PRESET_NAMES, presetOverrideIssues } from "../model/config.ts";

export const SftConfigSchema = z
  .object({
    /** JSONL training file; each row has a `text` field: a whole chat-formatted sequence
     *  (`<|user|>…<|assistant|><think>…</think>…<eos>`). Relative to the config file. */
    data: z.string().min(1),
    /** Optional JSONL of held-out rows (same format) for a validation loss. */
    eval_data: z.string().min(1).optional(),
    /** Start from this checkpoint folder (its tokenizer is kept). Exclusive with `init`. */
    base: z.string().min(1).optional(),
    /** Start from a fresh model: preset name and init seed; the tokenizer is trained on `data`. */
    init: z
      .object({
        preset: z.enum(PRESET_NAMES as [string, ...string[]]),
        seed: z.number().int().nonnegative().default(0),
        /** HF config fields that replace the preset's, e.g. { max_position_embeddings: 256 }. */
        overrides: z.record(z.string(), z.unknown()).optional(),
      })
      .optional(),
    /** Which tokens carry loss: `assistant` (everything after the first <|assistant|>, the
     *  thinking, response and <eos>) or `all`. Default assistant. */
    loss_on: z.enum(["assistant", "all"]).default("assistant"),
    /** Optimiser steps. */
    steps: z.number().int().positive(),
    /** Sequences per step. Default 32. */
    batch_size: z.number().int().positive().default(32),
    /** Micro-batches per step: the batch's rows are sorted by length and computed in this many
     *  groups, each padded only to its own longest row, whose gradients accumulate before the one
     *  update (the same mean loss; equal to one padded batch up to float rounding). Default 4
     *  (about 30% fewer (B, T) cells on the world's base corpus, whose math rows are short:
     *  docs/BENCHMARKS.md); 1 = one padded batch, as before 2026-12-03. */
    length_buckets: z.number().int().min(1).max(256).default(4),
    /** Peak learning rate (AdamW). Default 3e-3 (tiny models from scratch tolerate high rates). */
    lr: z.number().positive().default(3e-3),
    /** Linear warm-up steps. Default 20. */
    warmup_steps: z.number().int().nonnegative().default(20),
    /** Final learning rate as a fraction of the peak (cosine decay). Default 0.1. */
    min_lr_ratio: z.number().min(0).max(1).default(0.1),
    /** AdamW decoupled weight decay on matrices. Default 0.1. */
    weight_decay: z.number().min(0).default(0.1),
    /** AdamW betas. Default 0.9 / 0.95. */
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.95),
    /** Global gradient-norm clip (0 = off). Default 1.0. */
    grad_clip: z.number().min(0).default(1.0),
    /** Seed of the data order. Default 0. */
    seed: z.number().int().nonnegative().default(0),
    /** Save a resumable checkpoint every N steps (and at the end). Default 100. */
    save_every: z.number().int().positive().default(100),
    /** Validation loss every N steps when eval_data is set. Default 100. */
    eval_every: z.number().int().positive().default(100),
    /** Kernel implementation (default: RECAP_KERNELS or the fastest available). */
    kernels: z.string().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.base === !c.init)
      ctx.addIssue({
        code: "custom",
        message: "set exactly one of `base` (a checkpoint to fine-tune) or `init` (a fresh model: {preset, seed})",
      });
    if (c.warmup_steps > c.steps)
      ctx.addIssue({
        code: "custom",
        path: ["warmup_steps"],
        message: `warmup_steps ${c.warmup_steps} exceeds steps ${c.steps}`,
      });
    // the model config the overrides make is checked here, so its errors name the file and field
    if (c.init?.overrides)
      for (const i of presetOverrideIssues(c.init.preset, c.init.overrides))
        ctx.addIssue({ code: "custom", path: ["init", "overrides", ...i.path], message: i.message });
  });

export type SftConfig = z.infer<typeof SftConfigSchema>;
