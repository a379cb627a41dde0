// `recap logprobs CKPT --text STR`: teacher-forced log-prob of every token of STR given the tokens
// before it (special tokens such as <|user|> are parsed). The first token has no prediction.
import type { Command } from "commander";
import { forward } from "../model/forward.ts";
import { RecapError } from "../util/errors.ts";
import { loadModel } from "../model/load.ts";
import { action, printJson } from "./common.ts";

export function registerLogprobs(program: Command): void {
  program
    .command("logprobs <ckpt>")
    .description("teacher-forced per-token log-probs of a text under a checkpoint")
    .requiredOption("--text <str>", "the text; special tokens like <|user|> and <think> are parsed")
    .option("--kernels <name>", "kernel implementation (default: RECAP_KERNELS or the fastest available)")
    .option("--json", "print JSON on stdout", false)
    .action(
      action(async (ckpt: string, o: { text: string; kernels?: string; json: boolean }) => {
        const { model, tokenizer } = await loadModel(ckpt, o.kernels);
        const ids = tokenizer.encode(o.text);
        if (ids.length < 2) throw new RecapError(`--text encodes to ${ids.length} token(s); at least 2 are needed`);
        const T = ids.length - 1;
        if (T > model.config.max_position_embeddings)
          throw new RecapError(
            `--text has ${ids.length} tokens, more than the model's context of ${model.config.max_position_embeddings}`,
          );
        const input = Int32Array.from(ids.slice(0, T));
        const targets = Int32Array.from(ids.slice(1));
        const { logprobs } = forward(model, input, targets, 1, T);
        const tokens = ids.map((id, i) => ({
          id,
          token: tokenizer.decode([id]),
          logprob: i === 0 ? null : logprobs[i - 1]!,
        }));
        const total = tokens.reduce((s, t) => s + (t.logprob ?? 0), 0);
        if (o.json) printJson({ model: ckpt, kernels: model.kernels.name, tokens, sum_logprob: total });
        else {
          for (const t of tokens)
            process.stdout.write(
              `${String(t.id).padStart(5)}  ${JSON.stringify(t.token).padEnd(18)} ${t.logprob === null ? "" : t.logprob.toFixed(5)}\n`,
            );
          process.stdout.write(`sum ${total.toFixed(5)} over ${T} predicted tokens\n`);
        }
      }),
    );
}
