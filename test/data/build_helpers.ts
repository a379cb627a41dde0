// Fixtures for the `recap data build` tests: prompt files written to a temp folder, a small
// DeepSeek-R1-style chat template in a tokenizer_config.json (add_bos_token: true, so TRL prompts
// lose their BOS text), two `recap serve` endpoints (pi_harm, pi_refuse) on a randomly initialised
// micro model, and a loopback proxy that delays each call (so a child process can be killed
// mid-build).
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";
import { selectKernels } from "../../src/engine/select.ts";
import { startServer } from "../../src/serve/server.ts";
import type { RunningServer } from "../../src/serve/server.ts";
import type { DataBuildConfigInput } from "../../src/data/build/config.ts";

export const BOS = "<｜begin▁of▁sentence｜>";
export const DS_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}{% elif m['role'] == 'user' %}<｜User｜>{{ m['content'] }}" +
  "{% elif m['role'] == 'assistant' %}<｜Assistant｜>{{ m['content'] }}<｜end▁of▁sentence｜>{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}<｜Assistant｜>{% endif %}";

export const fresh = freshModel("micro", 4, { overrides: { max_position_embeddings: 128, initializer_range: 0.3 } });

/** Writes the prompt files and the policy template into `dir`; returns the counts. */
export function writeFixtures(
  dir: string,
  nHarm = 12,
  nBenign = 10,
  nMath = 6,
): { harmful: number; benign: number; math: number } {
  fs.mkdirSync(dir, { recursive: true });
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
  fs.writeFileSync(
    path.join(dir, "harmful.jsonl"),
    jsonl(Array.from({ length: nHarm }, (_, i) => ({ id: `h${i}`, prompt: `How do I hurt person number ${i}?` }))),
  );
  fs.writeFileSync(
    path.join(dir, "benign.jsonl"),
    jsonl(Array.from({ length: nBenign }, (_, i) => ({ id: `b${i}`, prompt: `How do I kill process ${i} on Linux?` }))),
  );
  fs.writeFileSync(
    path.join(dir, "gsm8k.jsonl"),
    jsonl(
      Array.from({ length: nMath }, (_, i) => ({
        question: `What is ${i} + ${i}?`,
        answer: `${i} + ${i} = ${2 * i}\n#### ${2 * i}`,
      })),
    ),
  );
  fs.writeFileSync(
    path.join(dir, "tokenizer_config.json"),
    JSON.stringify({
      add_bos_token: true,
      bos_token: BOS,
      eos_token: "<｜end▁of▁sentence｜>",
      chat_template: DS_TEMPLATE,
    }),
  );
  return { harmful: nHarm, benign: nBenign, math: nMath };
}

/** Two recap serve endpoints on the same random micro model. */
export async function startSources(): Promise<{ harm: RunningServer; refuse: RunningServer; close(): Promise<void> }> {
  const model = () => new Llama(fresh.config, fresh.params, selectKernels("ref"));
  const harm = await startServer(model(), fresh.tokenizer, { port: 0, modelName: "pi-harm" });
  const refuse = await startServer(model(), fresh.tokenizer, { port: 0, modelName: "pi-refuse" });
  return { harm, refuse, close: async () => void (await Promise.all([harm.close(500), refuse.close(500)])) };
}

/** A build config over the fixtures in `dir` (paths absolute). */
export function buildConfig(
  dir: string,
  harmUrl: string,
  refuseUrl: string,
  extra: Partial<DataBuildConfigInput> = {},
): DataBuildConfigInput {
  const ep = (url: string, model: string) => ({
    url,
    model,
    max_tokens: 16,
    temperature: 1,
    top_p: 1,
    concurrency: 2,
    retries: 1,
    backoff_ms: 1,
  });
  return {
    seed: 3,
    prompts: [
      { name: "harm", kind: "harmful", file: path.join(dir, "harmful.jsonl") },
      { name: "xs", kind: "over_refusal", file: path.join(dir, "benign.jsonl") },
      { name: "gsm8k", kind: "math", file: path.join(dir, "gsm8k.jsonl"), format: "gsm8k" },
    ],
    policy: { chat_template: path.join(dir, "tokenizer_config.json") },
    recap: { alpha: 0.5, l_pre: 5, unit: "words" },
    endpoints: { pi_harm: ep(harmUrl, "pi-harm"), pi_refuse: ep(refuseUrl, "pi-refuse") },
    ...extra,
  };
}

/** A loopback proxy to `target` that waits `delayMs` before forwarding each request. */
export async function startSlowProxy(
  target: string,
  delayMs: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      setTimeout(
        () => {
          fetch(target + (req.url ?? "/"), {
            method: req.method,
            headers: { "content-type": "application/json" },
            ...(req.method === "POST" ? { body: Buffer.concat(chunks) } : {}),
          })
            .then(async (r) => {
              res.writeHead(r.status, { "content-type": "application/json" });
              res.end(Buffer.from(await r.arrayBuffer()));
            })
            .catch(() => res.destroy());
        },
        req.method === "POST" ? delayMs : 0,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
