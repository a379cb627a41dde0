// The embedded provider: a checkpoint of our own tiny model, sampled in-process with the batched
// KV-cache sampler. Prompts are rendered with the model's chat template (src/model/chat_template.ts)
// up to the generation prompt; a prefill appends `<think>` + the prefilled thinking (the tiny
// template does not open the thinking itself), a hijack also appends `</think>`. Token counts are
// exact: the CoT ends with the `</think>` token. Rows are sampled in batches of `batchRows`, and
// each row draws from its own seed (sample j of a request: the request's seed + j), so a row's
// sample does not depend on what it is batched with: adding attacks or suites to a run, or
// resuming one, leaves every other cell's samples as they were; a row's generation limit is what
// the context leaves after its own prompt (the sampler's per-row limit).
import type { Llama } from "../../model/llama.ts";
import { renderChat } from "../../model/chat_template.ts";
import { sample } from "../../model/sampler.ts";
import type { Tokenizer } from "../../model/tokenizer.ts";
import type { Completion, GenRequest, GenResult, Provider, SamplingParams, TextTokenizer } from "../types.ts";

export interface EmbeddedOptions {
  /** Name recorded in results (the checkpoint path). */
  name: string;
  /** Rows (request samples) per sampler call. Default 32. */
  batchRows?: number;
}

/** The exact prompt text of a request for the tiny model's template. */
export function renderEmbeddedPrompt(req: GenRequest): string {
  if (req.raw !== undefined) return req.raw;
  const gen = renderChat(req.messages, { addGenerationPrompt: true });
  if (req.thinking === undefined) return gen;
  return gen + "<think>" + req.thinking + (req.closeThinking ? "</think>" : "");
}

interface Row {
  req: number; // index into requests
  ids: number[];
  seed: number; // the row's own sampling seed
}

export class EmbeddedProvider implements Provider {
  private readonly batchRows: number;

  constructor(
    private readonly model: Llama,
    private readonly tok: Tokenizer,
    private readonly o: EmbeddedOptions,
  ) {
    this.batchRows = o.batchRows ?? 32;
  }

  id(): string {
    return `embedded:${this.o.name}`;
  }

  batchSize(): number {
    return this.batchRows;
  }

  tokenizer(): TextTokenizer {
    return { source: this.id(), encode: (t) => this.tok.encode(t), decode: (ids) => this.tok.decode(ids) };
  }

  async generate(requests: GenRequest[]): Promise<GenResult[]> {
    const results: GenResult[] = requests.map((r) => ({ key: r.key, completions: [] }));
    const ctx = this.model.config.max_position_embeddings;
    const groups = new Map<string, Row[]>(); // rows sharing sampling params go in one call
    requests.forEach((r, i) => {
      const ids = this.tok.encode(renderEmbeddedPrompt(r));
      if (ids.length >= ctx) {
        results[i]!.error = `prompt (${ids.length} tokens) leaves no room in the model's context of ${ctx}`;
        return;
      }
      const key = JSON.stringify({ ...r.params, seed: 0 }); // rows carry their own seeds
      const rows = groups.get(key) ?? [];
      for (let j = 0; j < r.n; j++) rows.push({ req: i, ids, seed: (r.params.seed + j) >>> 0 });
      groups.set(key, rows);
    });
    for (const rows of groups.values()) {
      // Similar lengths batch together (less padding); each row's generation limit is what the
      // context leaves after its own prompt (the sampler's per-row limit), so a clean prompt
      // batched with long prefilled ones keeps its full budget.
      rows.sort((a, b) => a.ids.length - b.ids.length || a.req - b.req);
      for (let s = 0; s < rows.length; s += this.batchRows) {
        const batch = rows.slice(s, s + this.batchRows);
        const params = requests[batch[0]!.req]!.params;
        const out = this.sampleBatch(
          batch.map((b) => b.ids),
          batch.map((b) => b.seed),
          params,
        );
        batch.forEach((b, k) => results[b.req]!.completions.push(out[k]!));
        await new Promise((r) => setImmediate(r)); // let timers (progress) run between batches
      }
    }
    return results;
  }

  private sampleBatch(prompts: number[][], seeds: number[], p: SamplingParams): Completion[] {
    const eos = this.tok.specialIds.eos,
      endThink = this.tok.specialIds.endThink,
      think = this.tok.specialIds.think;
    const out = sample(this.model, prompts, {
      maxNewTokens: p.maxTokens,
      temperature: p.temperature,
      topP: p.topP,
      rowSeeds: seeds,
      stopTokenIds: [eos],
      vocabLimit: this.tok.vocabSize,
      ...(p.stop?.length ? { stop: p.stop, decode: (ids: number[]) => this.tok.decode(ids) } : {}),
    });
    return out.map((r, k) => {
      const body = r.tokens[r.tokens.length - 1] === eos ? r.tokens.slice(0, -1) : r.tokens;
      const close = r.tokens.indexOf(endThink);
      const pr = prompts[k]!;
      const opened = pr.lastIndexOf(think) > pr.lastIndexOf(endThink) || r.tokens[0] === think;
      const cot = close >= 0 ? close + 1 : opened ? r.tokens.length : 0;
      return {
        text: this.tok.decode(body),
        completionTokens: r.tokens.length,
        cotTokens: cot,
        responseTokens: r.tokens.length - cot,
        finishReason: r.finishReason,
      };
    });
  }
}
