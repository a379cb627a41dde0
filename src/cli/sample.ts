// `recap sample CKPT --prompt STR [--prefill STR]`: batched KV-cache sampling of the assistant turn
// for a user prompt rendered with the checkpoint's chat template, optionally continuing a
// prefilled partial assistant turn (e.g. "<think>flawed reasoning ..."), as RECAP needs.
import type { Command } from "commander";
import { sample } from "../model/sampler.ts";
import { renderChat } from "../model/chat_template.ts";
import { RecapError } from "../util/errors.ts";
import { loadModel } from "../model/load.ts";
import { action, intFlag, numFlag, printJson } from "./common.ts";

interface SampleFlags {
  prompt: string;
  prefill?: string;
  n: string;
  maxNewTokens: string;
  temperature: string;
  topK: string;
  topP: string;
  seed: string;
  stop?: string[];
  kernels?: string;
  json: boolean;
}

export function registerSample(program: Command): void {
  program
    .command("sample <ckpt>")
    .description("sample completions of a chat prompt, optionally from a prefilled assistant turn")
    .requiredOption("--prompt <str>", "the user message")
    .option("--prefill <str>", 'partial assistant turn to continue, e.g. "<think>The user wants"')
    .option("--n <n>", "samples to draw", "1")
    .option("--max-new-tokens <n>", "tokens to generate at most", "64")
    .option("--temperature <t>", "softmax temperature (0 = greedy)", "1")
    .option("--top-k <k>", "keep the k most likely tokens (0 = off)", "0")
    .option("--top-p <p>", "nucleus sampling mass (1 = off)", "1")
    .option("--seed <s>", "seed", "0")
    .option("--stop <str...>", "stop strings")
    .option("--kernels <name>", "kernel implementation (default: RECAP_KERNELS or the fastest available)")
    .option("--json", "print JSON on stdout", false)
    .action(action(async (ckpt: string, o: SampleFlags) => run(ckpt, o)));
}

async function run(ckpt: string, o: SampleFlags): Promise<void> {
  const n = intFlag(o.n, "--n", 1);
  const maxNewTokens = intFlag(o.maxNewTokens, "--max-new-tokens", 1);
  const temperature = numFlag(o.temperature, "--temperature");
  const topK = intFlag(o.topK, "--top-k", 0);
  const topP = numFlag(o.topP, "--top-p");
  const seed = intFlag(o.seed, "--seed", 0);
  if (temperature < 0) throw new RecapError(`--temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new RecapError(`--top-p must be in (0, 1], got ${topP}`);
  const { model, tokenizer } = await loadModel(ckpt, o.kernels);
  const messages = [{ role: "user", content: o.prompt }];
  const rendered =
    o.prefill !== undefined
      ? renderChat([...messages, { role: "assistant", content: o.prefill }], { continueFinalMessage: true })
      : renderChat(messages, { addGenerationPrompt: true });
  const promptIds = tokenizer.encode(rendered);
  const ctx = model.config.max_position_embeddings;
  if (promptIds.length + maxNewTokens > ctx)
    throw new RecapError(
      `prompt (${promptIds.length} tokens) + --max-new-tokens ${maxNewTokens} exceeds the model's context of ${ctx}`,
      "lower --max-new-tokens or shorten the prompt",
    );
  const results = sample(
    model,
    Array.from({ length: n }, () => promptIds),
    {
      maxNewTokens,
      temperature,
      topK,
      topP,
      seed,
      stopTokenIds: [tokenizer.specialIds.eos],
      vocabLimit: tokenizer.vocabSize,
      stop: o.stop,
      decode: (ids) => tokenizer.decode(ids),
    },
  );
  const samples = results.map((r) => ({
    text: tokenizer.decode(r.tokens),
    tokens: r.tokens,
    logprobs: r.logprobs,
    finish_reason: r.finishReason,
  }));
  if (o.json) {
    printJson({
      model: ckpt,
      kernels: model.kernels.name,
      prompt: rendered,
      prompt_tokens: promptIds.length,
      seed,
      samples,
    });
    return;
  }
  samples.forEach((s, i) =>
    process.stdout.write(
      `--- sample ${i} (${s.finish_reason}, ${s.tokens.length} tokens)\n${o.prefill ?? ""}${s.text}\n`,
    ),
  );
}
