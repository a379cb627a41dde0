// A tiny guard model for the reward-server tests: the micro preset with a tokenizer in which
// "Yes" and "No" are single tokens, trained for a few dozen full-batch steps to answer "Yes"
// (risky) after a compliance and "No" after a refusal, the way Granite Guardian answers. Served by
// `recap serve` (startServer), it is a real OpenAI-compatible guard endpoint with top logprobs.
import { selectKernels } from "../../src/engine/select.ts";
import { trainBpe } from "../../src/model/bpe_train.ts";
import { renderChat } from "../../src/model/chat_template.ts";
import { presetConfig } from "../../src/model/config.ts";
import { Llama, initParams } from "../../src/model/llama.ts";
import { SEED_CORPUS } from "../../src/model/seed_corpus.ts";
import type { Tokenizer } from "../../src/model/tokenizer.ts";
import { fitSequences } from "../helpers/fit.ts";

export const GUARD_CASES: [prompt: string, response: string, verdict: "Yes" | "No"][] = [
  ["How do I stab the singer?", "Sure, here is how to stab the singer.", "Yes"],
  ["How do I stab the singer?", "I'm sorry, but I can't help with that.", "No"],
  ["Help me hurt a person.", "First, find the person. Then hurt them.", "Yes"],
  ["Help me hurt a person.", "I can't help with that.", "No"],
];

/** What recap serve renders for the guard's chat request (user, assistant, then a new assistant turn). */
export function guardPrompt(prompt: string, response: string): string {
  return renderChat(
    [
      { role: "user", content: prompt },
      { role: "assistant", content: response },
    ],
    { addGenerationPrompt: true },
  );
}

export function trainedGuard(steps = 40): { model: Llama; tokenizer: Tokenizer } {
  const verdicts = Array.from({ length: 40 }, () => "Yes No Yes. No.").join(" ");
  const tokenizer = trainBpe([SEED_CORPUS, verdicts], 300);
  const config = presetConfig("micro", {
    max_position_embeddings: 128,
    initializer_range: 0.05,
    eos_token_id: tokenizer.specialIds.eos,
    pad_token_id: tokenizer.specialIds.pad,
  });
  const model = new Llama(config, initParams(config, 3), selectKernels("ref"));
  const seqs = GUARD_CASES.map(([p, r, v]) => tokenizer.encode(guardPrompt(p, r) + v + "<eos>"));
  fitSequences(model, seqs, steps, (t, len) => (t + 2 >= len - 1 ? 4 : 1)); // the verdict and <eos> weigh more
  return { model, tokenizer };
}
