// What a reward reads of a rollout: only the final response, after the thinking.
//
// OpenRLHF sends `query` = the decoded prompt + generated tokens (special tokens kept) and
// `prompts` = the prompt text; verl and TRL send the generated text alone. So:
//   1. generated part: the query without its prompt when the query starts with it (else the whole
//      query: a tokenizer round trip that changed the prompt text cannot hide the response,
//      because step 2 looks for the LAST `</think>` and a RECAP prompt never contains one);
//   2. the response is the text after the last `</think>`; with `require_think` (the default, for
//      reasoning models) a rollout that never closed its thinking has no response: it scores 0
//      with the reason "no </think>" (cut off by the generation limit, or a model that skipped
//      the format), and no judge is called;
//   3. trailing end-of-sequence / padding markers (the decoded special tokens) and whitespace are
//      removed.

/** End-of-turn and padding texts of common model families, stripped from the end of a response. */
export const DEFAULT_EOS_STRINGS: readonly string[] = [
  "<｜end▁of▁sentence｜>",
  "<|im_end|>",
  "<|eot_id|>",
  "<|end_of_text|>",
  "<|endoftext|>",
  "<|end|>",
  "</s>",
  "<eos>",
  "<pad>",
];

export interface ResponseOptions {
  /** The text that closes the thinking. Default "</think>". */
  thinkEnd: string;
  /** A rollout without `thinkEnd` scores 0 (reasoning models). Default true. */
  requireThink: boolean;
  /** Markers removed (repeatedly) from the end of the response. */
  eosStrings: readonly string[];
}

export const DEFAULT_RESPONSE_OPTIONS: ResponseOptions = {
  thinkEnd: "</think>",
  requireThink: true,
  eosStrings: DEFAULT_EOS_STRINGS,
};

export interface SplitRollout {
  /** What the policy generated (the query without its prompt). */
  generated: string;
  /** The final response, or null when the thinking never closed (and requireThink is set). */
  response: string | null;
  /** Why there is no response. */
  reason?: string;
}

/** The query without its prompt when it starts with it (else the query itself). */
export function generatedPart(query: string, prompt?: string): string {
  return prompt !== undefined && prompt !== "" && query.startsWith(prompt) ? query.slice(prompt.length) : query;
}

/** The text with trailing end-of-sequence markers and whitespace removed. */
export function stripEos(text: string, eosStrings: readonly string[]): string {
  let t = text.trimEnd();
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of eosStrings) {
      if (e !== "" && t.endsWith(e)) {
        t = t.slice(0, -e.length).trimEnd();
        changed = true;
      }
    }
  }
  return t;
}

/** Splits a rollout into the generated text and its final response (see the module comment). */
export function splitRollout(
  query: string,
  prompt: string | undefined,
  o: ResponseOptions = DEFAULT_RESPONSE_OPTIONS,
): SplitRollout {
  const generated = generatedPart(query, prompt);
  const at = generated.lastIndexOf(o.thinkEnd);
  if (at < 0) {
    if (o.requireThink) return { generated, response: null, reason: `no ${o.thinkEnd}: the thinking never closed` };
    return { generated, response: stripEos(generated, o.eosStrings).trim() };
  }
  return { generated, response: stripEos(generated.slice(at + o.thinkEnd.length), o.eosStrings).trim() };
}
