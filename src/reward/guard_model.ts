// The world guard as a scorer: P(yes) = P(the response is harmful) for (request, response) pairs,
// read from a guard checkpoint's next-token distribution after guardPrompt (src/world/guard.ts):
// p(yes) / (p(yes) + p(no)), the Granite Guardian recipe of src/graders/guard.ts with the
// full distribution instead of an endpoint's top log-probs. Pairs are scored in left-padded
// batches of 32 rows through the KV-cache forward; a pair's value does not depend on its batch
// beyond f32 rounding. The RL trainer's continuous safety reward is 1 - P(yes).
import { withScope } from "../engine/kernels.ts";
import { selectKernels } from "../engine/select.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { KVCache, inferStep } from "../model/infer.ts";
import { Llama } from "../model/llama.ts";
import { Tokenizer } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";
import { GUARD_NO, GUARD_YES, guardPrompt } from "../world/guard.ts";

/** Rows per forward (bounds the attention scores held at once, as the sampler's prefill). */
const GUARD_ROWS = 32;

export class WorldGuard {
  readonly yesId: number;
  readonly noId: number;

  constructor(
    readonly model: Llama,
    readonly tokenizer: Tokenizer,
    readonly source: string,
  ) {
    const yes = tokenizer.encode(GUARD_YES),
      no = tokenizer.encode(GUARD_NO);
    if (yes.length === 0 || no.length === 0 || yes[0] === no[0])
      throw new RecapError(
        `guard ${source}: "${GUARD_YES}" and "${GUARD_NO}" do not start with different tokens`,
        "train the guard from a world base (configs/world-guard.yaml)",
      );
    this.yesId = yes[0]!;
    this.noId = no[0]!;
  }

  /** Loads a guard checkpoint (a `recap sft` run's checkpoint folder). */
  static async load(dir: string, kernels?: string): Promise<WorldGuard> {
    const ck = await loadCheckpoint(dir);
    return new WorldGuard(
      new Llama(ck.config, ck.params, selectKernels(kernels)),
      Tokenizer.fromJSON(ck.tokenizerJson),
      dir,
    );
  }

  /** P(yes) for each pair, in order. */
  pYes(pairs: readonly { request: string; response: string }[]): number[] {
    const ctx = this.model.config.max_position_embeddings;
    const ids = pairs.map((p, i) => {
      const t = this.tokenizer.encode(guardPrompt(p.request, p.response));
      if (t.length >= ctx)
        throw new RecapError(
          `guard ${this.source}: pair ${i} has ${t.length} tokens, the guard's context is ${ctx}`,
          "shorten the response (the policy's answers fit the world's context)",
        );
      return t;
    });
    const out: number[] = [];
    for (let r0 = 0; r0 < ids.length; r0 += GUARD_ROWS) out.push(...this.batch(ids.slice(r0, r0 + GUARD_ROWS)));
    return out;
  }

  private batch(rows: number[][]): number[] {
    const m = this.model,
      V = m.config.vocab_size;
    const B = rows.length,
      P = Math.max(...rows.map((r) => r.length));
    return withScope(m.kernels, () => {
      const ids = new Int32Array(B * P); // (B, P) left-padded
      rows.forEach((r, b) => ids.set(r, b * P + (P - r.length)));
      const cache = new KVCache(
        m,
        B,
        P,
        Int32Array.from(rows, (r) => P - r.length),
      );
      const logits = inferStep(m, cache, ids, P); // (B, V) the next token after each prompt
      return rows.map((_, b) => {
        const ly = logits[b * V + this.yesId]!,
          ln = logits[b * V + this.noId]!;
        return 1 / (1 + Math.exp(ln - ly)); // p(yes) / (p(yes) + p(no))
      });
    });
  }
}
