// Prefill sources: where counter-aligned (or, for the ablation, aligned) thinking comes from,
// behind one interface. `prefill(item, rng)` returns the FULL thinking for the item (the text
// after the opener; never "</think>"); the mixture cuts it to l_pre afterwards. Implementations:
// - ruleSource: wraps any function item -> thinking (the world's rule-based pi_harm / pi_refuse).
// - samplerSource: lets a checkpoint write the thinking (the paper samples pi_harm / pi_refuse
//   from models): the chat is rendered for the item's prompt, the thinking is opened with
//   `think_open`, and the model generates with our KV-cache sampler until "</think>" or <eos>.
// An HTTP endpoint source (OpenAI-compatible) can implement the same interface later.
import type { Rng } from "../engine/rng.ts";
import type { Llama } from "../model/llama.ts";
import { sample } from "../model/sampler.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";
import { encodePolicyPrompt } from "./render.ts";
import { beforeEndThink } from "./truncate.ts";

export interface PrefillResult {
  /** The thinking text (after the opener, without "</think>"). */
  text: string;
  /** Which source produced it (for provenance in the data and the metrics). */
  sourceId: string;
}

export interface PrefillSource<I = { prompt: string }> {
  readonly id: string;
  /** The full thinking for `item`; must depend only on (item, rng) for reproducibility. */
  prefill(item: I, rng: Rng): PrefillResult | Promise<PrefillResult>;
}

/** A source from a generator function (cut before any "</think>" it writes). */
export function ruleSource<I>(id: string, generate: (item: I, rng: Rng) => string): PrefillSource<I> {
  return { id, prefill: (item, rng) => ({ text: beforeEndThink(generate(item, rng)), sourceId: id }) };
}

export interface SamplerSourceOptions {
  id: string;
  model: Llama;
  tokenizer: Tokenizer;
  /** Thinking tokens to generate at most (clamped to what the context leaves). */
  maxNewTokens: number;
  /** Sampling temperature. Default 1 (the source model's own distribution). */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Text that opens the thinking, placed after the assistant marker. Default "<think>". */
  think_open?: string;
  system?: string;
}

/** A source that samples the thinking from a model (one row per call, seeded from `rng`). */
export function samplerSource<I extends { prompt: string }>(opts: SamplerSourceOptions): PrefillSource<I> {
  const tok = opts.tokenizer;
  const think_open = opts.think_open ?? "<think>";
  const stops = [tok.specialIds.endThink, tok.specialIds.eos];
  return {
    id: opts.id,
    prefill(item, rng) {
      const { promptIds, prefillIds } = encodePolicyPrompt(tok, item.prompt, "", opts.system, think_open);
      const ids = [...promptIds, ...prefillIds]; // (P + F) the prompt and the opened thinking
      const left = opts.model.config.max_position_embeddings - ids.length;
      if (left < 1)
        throw new RecapError(
          `prompt of ${ids.length} tokens leaves no room to generate in the ${opts.model.config.max_position_embeddings}-token context of source "${opts.id}"`,
          "use shorter prompts or a model with a longer context",
        );
      const [r] = sample(opts.model, [ids], {
        maxNewTokens: Math.min(opts.maxNewTokens, left),
        temperature: opts.temperature ?? 1,
        topK: opts.topK ?? 0,
        topP: opts.topP ?? 1,
        seed: rng.nextU32(),
        stopTokenIds: stops,
        vocabLimit: tok.vocabSize,
      });
      const tokens = r!.tokens;
      const body =
        r!.finishReason === "stop" && stops.includes(tokens[tokens.length - 1]!) ? tokens.slice(0, -1) : tokens;
      return { text: beforeEndThink(tok.decode(body)), sourceId: opts.id };
    },
  };
}
