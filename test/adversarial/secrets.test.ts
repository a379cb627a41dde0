// API keys (issue 21, defect 4): `recap data build` wrote endpoint api_keys in clear into
// OUT/summary.json, and every command printed them in its resolved config (`recap reward serve
// --config` the judge's). Now both show "<redacted>", while the endpoints still get the real key.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runDataBuild } from "../../src/data/build/build.ts";
import { DataBuildConfigSchema } from "../../src/data/build/config.ts";
import { RewardServerConfigSchema } from "../../src/reward/config.ts";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";
import { selectKernels } from "../../src/engine/select.ts";
import { startServer } from "../../src/serve/server.ts";
import { printResolvedConfig } from "../../src/util/config_file.ts";
import { REDACTED, redactSecrets } from "../../src/util/redact.ts";
import { buildConfig, writeFixtures } from "../data/build_helpers.ts";

const KEY = "sk-test-SECRET-0123456789";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-secrets-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function captureStderr(f: () => void): string {
  const orig = process.stderr.write.bind(process.stderr);
  let out = "";
  process.stderr.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stderr.write;
  const quiet = process.env["RECAP_QUIET"];
  delete process.env["RECAP_QUIET"];
  try {
    f();
  } finally {
    process.stderr.write = orig;
    if (quiet !== undefined) process.env["RECAP_QUIET"] = quiet;
  }
  return out;
}

test("redactSecrets: secret-named keys at any depth; the original keeps its values", () => {
  const cfg = {
    a: { api_key: KEY, apiKey: KEY, openai_api_key: KEY, url: "http://x" },
    list: [{ password: KEY }],
    max_tokens: 5,
    tokenizer: "t",
    eos_token_id: 2,
  };
  const r = redactSecrets(cfg);
  assert.equal(JSON.stringify(r).includes(KEY), false);
  assert.equal(r.a.api_key, REDACTED);
  assert.equal(r.max_tokens, 5);
  assert.equal(r.tokenizer, "t");
  assert.equal(cfg.a.api_key, KEY, "the config in memory is untouched");
});

test("the reward server's printed resolved config hides the judge's key", () => {
  const cfg = RewardServerConfigSchema.parse({
    over_refusal: { endpoint: { url: "http://127.0.0.1:9", model: "judge", api_key: KEY } },
  });
  const printed = captureStderr(() => printResolvedConfig("recap reward serve: resolved config", cfg));
  assert.match(printed, /<redacted>/);
  assert.equal(printed.includes(KEY), false);
  assert.equal(cfg.over_refusal!.endpoint.api_key, KEY);
});

test("data build: keyed endpoints answer (the key is used) and summary.json never holds it", async () => {
  const dir = path.join(tmp, "fx");
  writeFixtures(dir, 4, 3, 2);
  const fresh = freshModel("micro", 4, { overrides: { max_position_embeddings: 128 } });
  const model = () => new Llama(fresh.config, fresh.params, selectKernels("ref"));
  const harm = await startServer(model(), fresh.tokenizer, { port: 0, modelName: "pi-harm", apiKey: KEY });
  const refuse = await startServer(model(), fresh.tokenizer, { port: 0, modelName: "pi-refuse", apiKey: KEY });
  try {
    const raw = buildConfig(dir, harm.url, refuse.url);
    raw.endpoints!.pi_harm!.api_key = KEY;
    raw.endpoints!.pi_refuse!.api_key = KEY;
    const out = path.join(tmp, "out");
    const cfg = DataBuildConfigSchema.parse(raw);
    const s = await runDataBuild(cfg, out);
    assert.ok(s.rows > 0);
    const text = fs.readFileSync(path.join(out, "summary.json"), "utf8");
    assert.equal(text.includes(KEY), false, "summary.json holds the key");
    assert.equal(JSON.parse(text).config.endpoints.pi_harm.api_key, REDACTED);
    for (const f of fs.readdirSync(out))
      if (fs.statSync(path.join(out, f)).isFile())
        assert.equal(fs.readFileSync(path.join(out, f), "utf8").includes(KEY), false, f);
  } finally {
    await Promise.all([harm.close(500), refuse.close(500)]);
  }
});
