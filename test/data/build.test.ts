// `recap data build` end to end against two `recap serve` endpoints (a random micro model) on
// loopback: exact alpha, math never prefilled, prefills cut to l_pre and placed once after
// `<think>\n`, provenance per row, every export read back (OpenRLHF and TRL JSONL, verl parquet
// through hyparquet); resumability (a build stopped after k samples, a SIGKILLed child process,
// a torn cache line: the rerun reuses the cache and writes no duplicate rows); token-unit
// prefills through the policy's tokenizer.json; prompt token lengths in summary.json and the
// max_prompt_tokens limit (refuse / drop); clear errors.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import { runDataBuild } from "../../src/data/build/build.ts";
import { DataBuildConfigSchema } from "../../src/data/build/config.ts";
import type { DataBuildConfigInput } from "../../src/data/build/config.ts";
import { chooseItems } from "../../src/data/build/rows.ts";
import { loadHfTokenizer } from "../../src/lm/tokenizer.ts";
import type { BuildItem } from "../../src/data/build/prompts.ts";
import { truncateWords } from "../../src/recap/truncate.ts";
import { validateConfig } from "../../src/util/config_file.ts";
import { isRecapError } from "../../src/util/errors.ts";
import { BOS, buildConfig, fresh, startSlowProxy, startSources, writeFixtures } from "./build_helpers.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-data-build-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
process.env["RECAP_QUIET"] = "1";
const counts = writeFixtures(tmp);
let sources: Awaited<ReturnType<typeof startSources>>;
before(async () => void (sources = await startSources()));
after(() => sources.close());

const cfgOf = (extra: Partial<DataBuildConfigInput> = {}) =>
  DataBuildConfigSchema.parse(buildConfig(tmp, sources.harm.url, sources.refuse.url, extra));
const readJsonl = (f: string) =>
  fs
    .readFileSync(f, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, any>);

test("end to end: exact alpha, math never prefilled, prefills cut and placed once, all three exports read back", async () => {
  const out = path.join(tmp, "e2e");
  const s = await runDataBuild(cfgOf(), out);
  const eligible = counts.harmful + counts.benign,
    total = eligible + counts.math;
  assert.equal(s.rows, total);
  assert.equal(s.prefilled, Math.round(0.5 * eligible));
  assert.equal(s.by_set["gsm8k"]!.prefilled, 0);
  assert.equal(s.samples.sampled, s.prefilled);
  const rows = readJsonl(path.join(out, "openrlhf.jsonl"));
  assert.equal(rows.length, total);
  assert.equal(new Set(rows.map((r) => r["id"])).size, total);
  for (const r of rows) {
    const label = JSON.parse(r["label"]);
    assert.equal(label.datasource, r["datasource"]);
    assert.ok(r["prompt"].startsWith(BOS) && !r["prompt"].includes("</think>"));
    assert.equal(r["prompt"].split("<think>").length - 1, r["prefilled"] ? 1 : 0);
    if (r["datasource"] === "math") {
      assert.equal(r["prefilled"], false);
      assert.match(label.answer, /^\d+$/);
      assert.ok(r["prompt"].endsWith("\\boxed{}.<｜Assistant｜>"));
    } else assert.equal(typeof label.prompt, "string");
    if (!r["prefilled"]) {
      assert.ok(r["prompt"].endsWith("<｜Assistant｜>"));
      continue;
    }
    const p = r["provenance"];
    assert.equal(p.role, r["datasource"] === "safety" ? "pi_harm" : "pi_refuse");
    assert.equal(p.source_model, p.role === "pi_harm" ? "pi-harm" : "pi-refuse");
    assert.deepEqual([p.l_pre, p.unit], [5, "words"]);
    const prefill = r["prompt"].slice(
      r["prompt"].indexOf("<｜Assistant｜><think>\n") + "<｜Assistant｜><think>\n".length,
    );
    assert.equal(truncateWords(prefill, 1000).count, p.length);
    assert.ok(p.length <= 5);
  }
  const trl = readJsonl(path.join(out, "trl.jsonl"));
  assert.deepEqual(
    trl.map((r) => BOS + r["prompt"]),
    rows.map((r) => r["prompt"]),
    "TRL prompts lose only the BOS text (add_bos_token: true)",
  );
  assert.deepEqual(trl.filter((r) => r["answer"] !== undefined).length, counts.math);
  const buf = fs.readFileSync(path.join(out, "verl.parquet"));
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const schema = parquetSchema(parquetMetadata(file));
  assert.deepEqual(
    schema.children.map((c) => c.element.name),
    ["data_source", "prompt", "ability", "reward_model", "agent_name", "extra_info"],
  );
  const verl = (await parquetReadObjects({ file })) as Record<string, any>[];
  assert.equal(verl.length, total);
  verl.forEach((v, i) => {
    assert.equal(v["data_source"], rows[i]!["datasource"]);
    assert.deepEqual(v["prompt"], [
      { role: "user", content: JSON.parse(rows[i]!["label"]).prompt ?? v["prompt"][0].content },
    ]);
    assert.equal(v["reward_model"].ground_truth, rows[i]!["label"]);
    assert.equal(v["reward_model"].style, v["data_source"] === "math" ? "rule" : "model");
    assert.equal(v["extra_info"].prompt_text, rows[i]!["prompt"]);
    assert.equal(v["extra_info"].prefilled, rows[i]!["prefilled"]);
    assert.equal(v["extra_info"].index, BigInt(i));
  });
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.config.recap.alpha, 0.5);
});

test("alpha is exact over the safety + over-refusal prompts for any alpha and seed; math never chosen", () => {
  const items = Array.from(
    { length: 37 },
    (_, i) => ({ source: i % 3 === 0 ? "math" : i % 3 === 1 ? "harmful" : "benign" }) as BuildItem,
  );
  const eligible = items.filter((x) => x.source !== "math").length;
  for (const alpha of [0, 0.1, 0.25, 0.5, 0.77, 1])
    for (const seed of [1, 2]) {
      const chosen = chooseItems(items, alpha, seed);
      assert.equal(chosen.size, Math.round(alpha * eligible));
      for (const i of chosen) assert.notEqual(items[i]!.source, "math");
    }
  assert.deepEqual([...chooseItems(items, 0.5, 9)], [...chooseItems(items, 0.5, 9)]);
});

test("resume: a build stopped after 2 samples reuses them; a torn cache line is skipped; no duplicates", async () => {
  const out = path.join(tmp, "resume");
  const cfg = cfgOf();
  await assert.rejects(
    runDataBuild(cfg, out, {
      onSample: (_r, n) => {
        if (n === 2) throw new Error("simulated crash");
      },
    }),
    /simulated crash/,
  );
  assert.equal(fs.existsSync(path.join(out, "openrlhf.jsonl")), false, "no exports from an unfinished build");
  const cacheFile = path.join(out, "cache", "prefills.jsonl");
  const before = fs.readFileSync(cacheFile, "utf8").trim().split("\n");
  assert.ok(before.length >= 2);
  fs.appendFileSync(cacheFile, '{"key": "torn'); // a crash mid-write
  const s = await runDataBuild(cfg, out);
  assert.equal(s.samples.cached, before.length);
  assert.equal(s.samples.sampled, s.prefilled - before.length);
  assert.equal(s.samples.skipped_cache_lines, 1);
  const lines = fs
    .readFileSync(cacheFile, "utf8")
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith('{"key": "torn'));
  const keys = lines.map((l) => JSON.parse(l).key);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(keys.length, s.prefilled);
  const again = await runDataBuild(cfg, out);
  assert.deepEqual([again.samples.cached, again.samples.sampled], [s.prefilled, 0]);
  assert.equal(readJsonl(path.join(out, "openrlhf.jsonl")).length, s.rows);
});

test("resume after SIGKILL of a `recap data build` process: the rerun samples only the rest", async () => {
  const proxy = await startSlowProxy(sources.harm.url, 150);
  const out = path.join(tmp, "killed");
  const cfgFile = path.join(tmp, "killed.json");
  const raw = buildConfig(tmp, proxy.url, proxy.url) as any;
  raw.endpoints.pi_harm.url = raw.endpoints.pi_refuse.url = proxy.url;
  raw.endpoints.pi_harm.model = raw.endpoints.pi_refuse.model = "pi-harm";
  raw.endpoints.pi_harm.concurrency = raw.endpoints.pi_refuse.concurrency = 1;
  fs.writeFileSync(cfgFile, JSON.stringify(raw));
  const cacheFile = path.join(out, "cache", "prefills.jsonl");
  const child = spawn(
    process.execPath,
    [path.resolve("bin/recap.js"), "data", "build", "--config", cfgFile, "--out", out],
    { stdio: "ignore", env: { ...process.env, RECAP_QUIET: "1" } },
  );
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  try {
    for (let i = 0; i < 600; i++) {
      const n = fs.existsSync(cacheFile)
        ? fs
            .readFileSync(cacheFile, "utf8")
            .split("\n")
            .filter((l) => l.trim()).length
        : 0;
      if (n >= 3) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill("SIGKILL");
    await exited;
    const k = fs
      .readFileSync(cacheFile, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "").length;
    assert.ok(k >= 3, `${k} samples before the kill`);
    const s = await runDataBuild(DataBuildConfigSchema.parse({ ...raw }), out);
    assert.ok(k < s.prefilled, "killed mid-build");
    assert.equal(s.samples.cached + s.samples.sampled, s.prefilled);
    assert.ok(s.samples.cached >= k - 1 && s.samples.sampled <= s.prefilled - k + 1);
    assert.equal(new Set(readJsonl(path.join(out, "openrlhf.jsonl")).map((r) => r["id"])).size, s.rows);
  } finally {
    child.kill("SIGKILL");
    await proxy.close();
  }
});

test("unit tokens: prefills cut with the policy's tokenizer.json (loaded by @huggingface/tokenizers); pi_harm over raw completions", async () => {
  const tokDir = path.join(tmp, "tok");
  fs.mkdirSync(tokDir, { recursive: true });
  fs.writeFileSync(path.join(tokDir, "tokenizer.json"), JSON.stringify(fresh.tokenizerJson));
  fs.writeFileSync(path.join(tokDir, "source_tokenizer_config.json"), JSON.stringify(fresh.tokenizerConfig));
  const out = path.join(tmp, "tokens");
  const cfg = cfgOf({
    policy: { chat_template: path.join(tmp, "tokenizer_config.json"), tokenizer: tokDir },
    recap: { alpha: 0.5, l_pre: 4, unit: "tokens" },
  });
  Object.assign(cfg.endpoints.pi_harm!, {
    api: "completions",
    chat_template: path.join(tokDir, "source_tokenizer_config.json"),
  });
  const s = await runDataBuild(cfg, out);
  const rows = readJsonl(path.join(out, "openrlhf.jsonl")).filter((r) => r["prefilled"]);
  assert.equal(rows.length, s.prefilled);
  for (const r of rows) {
    const prefill = r["prompt"].slice(r["prompt"].indexOf("<think>\n") + "<think>\n".length);
    assert.equal(fresh.tokenizer.encode(prefill).length, r["provenance"].length);
    assert.ok(r["provenance"].length <= 4 && r["provenance"].unit === "tokens");
  }
});

test("prompt lengths: summary.json reports clean / prefilled token lengths; max_prompt_tokens refuses (naming the longest row) or drops", async () => {
  const tokDir = path.join(tmp, "tok-len");
  fs.mkdirSync(tokDir, { recursive: true });
  fs.writeFileSync(path.join(tokDir, "tokenizer.json"), JSON.stringify(fresh.tokenizerJson));
  const tok = loadHfTokenizer(tokDir);
  const cache_dir = path.join(tmp, "len-cache");
  const withTok = (extra: Partial<DataBuildConfigInput> = {}) =>
    cfgOf({
      policy: { chat_template: path.join(tmp, "tokenizer_config.json"), tokenizer: tokDir },
      cache_dir,
      ...extra,
    });
  const out = path.join(tmp, "len");
  const s = await runDataBuild(withTok(), out);
  const rows = readJsonl(path.join(out, "openrlhf.jsonl")).map((r) => ({
    id: r["id"] as string,
    prefilled: r["prefilled"] as boolean,
    len: tok.encode(r["prompt"]).length,
  }));
  const st = (xs: number[]) => ({
    n: xs.length,
    min: Math.min(...xs),
    mean: xs.reduce((a, x) => a + x, 0) / xs.length,
    max: Math.max(...xs),
  });
  const clean = rows.filter((r) => !r.prefilled).map((r) => r.len),
    pre = rows.filter((r) => r.prefilled).map((r) => r.len);
  assert.deepEqual(s.prompt_tokens, {
    tokenizer: path.join(tokDir, "tokenizer.json"),
    clean: st(clean),
    prefilled: st(pre),
    max_prompt_tokens: null,
    over_limit: 0,
    dropped: { clean: 0, prefilled: 0 },
  });
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")).prompt_tokens, s.prompt_tokens);
  assert.ok(st(pre).max > st(clean).max, "prefilled prompts are the longest here");
  const longest = rows.reduce((a, r) => (r.len > a.len ? r : a));
  // refuse (the default): one RecapError naming the longest row, its length and the fix; nothing written
  const limit = st(clean).max;
  const overN = rows.filter((r) => r.len > limit).length;
  await assert.rejects(
    runDataBuild(withTok({ max_prompt_tokens: limit }), path.join(tmp, "len-refuse")),
    (e: unknown) =>
      isRecapError(e) &&
      e.message ===
        `${overN} of ${rows.length} prompts are longer than max_prompt_tokens ${limit}; the longest is row "${longest.id}" (set ${longest.id.startsWith("h") ? "harm" : "xs"}, prefilled) with ${longest.len} tokens` &&
      /raise max_prompt_tokens/.test(e.hint ?? "") &&
      /long_prompts: drop/.test(e.hint ?? ""),
  );
  assert.equal(fs.existsSync(path.join(tmp, "len-refuse", "openrlhf.jsonl")), false);
  // a clean prompt over the limit is refused before any sampling (the endpoints are not even called)
  const early = withTok({ max_prompt_tokens: st(clean).min - 1, cache_dir: path.join(tmp, "len-cache-early") });
  early.endpoints.pi_harm!.url = "http://127.0.0.1:9";
  await assert.rejects(
    runDataBuild(early, path.join(tmp, "len-early")),
    /prompts are longer than max_prompt_tokens .*clean\) with/,
  );
  // drop: the rows over the limit leave every export, counted in the summary
  const d = await runDataBuild(withTok({ max_prompt_tokens: limit, long_prompts: "drop" }), path.join(tmp, "len-drop"));
  const kept = readJsonl(path.join(tmp, "len-drop", "openrlhf.jsonl"));
  assert.equal(kept.length, rows.length - overN);
  assert.equal(d.rows, kept.length);
  assert.ok(kept.every((r) => tok.encode(r["prompt"]).length <= limit));
  assert.deepEqual(d.prompt_tokens!.dropped, { clean: 0, prefilled: overN });
  assert.equal(d.prompt_tokens!.over_limit, overN);
  assert.equal(d.prefilled, s.prefilled - overN);
  assert.equal(readJsonl(path.join(tmp, "len-drop", "trl.jsonl")).length, kept.length);
  // the limit needs the tokenizer
  assert.throws(
    () =>
      validateConfig(
        { ...buildConfig(tmp, "http://127.0.0.1:1", "http://127.0.0.1:1"), max_prompt_tokens: 100 },
        DataBuildConfigSchema,
        "t.yaml",
      ),
    /max_prompt_tokens needs the policy's tokenizer/,
  );
});

test("clear errors: unreachable endpoint, wrong model, missing pieces of the config, math without answers", async () => {
  const bad = (raw: unknown, re: RegExp) =>
    assert.throws(
      () => validateConfig(raw, DataBuildConfigSchema, "t.yaml"),
      (e: unknown) => isRecapError(e) && re.test(e.message),
      String(re),
    );
  const down = cfgOf();
  down.endpoints.pi_harm!.url = "http://127.0.0.1:9";
  await assert.rejects(
    runDataBuild(down, path.join(tmp, "down")),
    (e: unknown) =>
      isRecapError(e) &&
      /endpoints\.pi_harm: cannot reach http:\/\/127\.0\.0\.1:9/.test(e.message) &&
      /start the pi_harm server/.test(e.hint ?? ""),
  );
  const wrong = cfgOf();
  wrong.endpoints.pi_refuse!.model = "gpt-9";
  await assert.rejects(
    runDataBuild(wrong, path.join(tmp, "wrong")),
    /does not serve model "gpt-9" \(it serves: pi-refuse\)/,
  );
  const base = buildConfig(tmp, "http://127.0.0.1:1", "http://127.0.0.1:1");
  bad({ ...base, recap: { unit: "tokens" } }, /policy\.tokenizer.*needs the policy's tokenizer/);
  bad(
    { ...base, endpoints: { pi_refuse: base.endpoints!.pi_refuse } },
    /endpoints\.pi_harm: harmful prompts with alpha > 0 need/,
  );
  bad(
    { ...base, endpoints: { ...base.endpoints, pi_harm: { url: "http://x", model: "m", api: "completions" } } },
    /chat_template/,
  );
  bad({ ...base, prompts: [base.prompts![0], base.prompts![0]] }, /used twice/);
  bad({ ...base, prompts: [{ ...base.prompts![0], format: "nope" }] }, /unknown format "nope"/);
  assert.doesNotThrow(() => DataBuildConfigSchema.parse({ ...base, recap: { alpha: 0 }, endpoints: {} }));
  const noAnswer = cfgOf({ prompts: [{ name: "m", kind: "math", file: path.join(tmp, "benign.jsonl") }] });
  await assert.rejects(runDataBuild(noAnswer, path.join(tmp, "na")), /math row "b0" has no gold answer/);
});

test("the command line: --json summary on stdout; an unreachable endpoint is one error line naming the URL", async () => {
  const run = (cfgFile: string, out: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.resolve("bin/recap.js"), "data", "build", "--config", cfgFile, "--out", out, "--json"],
        { env: { ...process.env, RECAP_QUIET: "1" } },
      );
      let stdout = "",
        stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
  const dir = path.join(tmp, "cli");
  writeFixtures(dir, 4, 4, 2);
  const raw = buildConfig(dir, sources.harm.url, sources.refuse.url) as any;
  for (const p of raw.prompts) p.file = path.basename(p.file); // relative to the config's folder
  raw.policy.chat_template = "tokenizer_config.json";
  fs.writeFileSync(path.join(dir, "ok.json"), JSON.stringify(raw));
  const ok = await run(path.join(dir, "ok.json"), path.join(dir, "out"));
  assert.equal(ok.code, 0, ok.stderr);
  const summary = JSON.parse(ok.stdout);
  assert.deepEqual([summary.rows, summary.prefilled], [10, 4]);
  assert.deepEqual(
    summary.files.map((f: { file: string }) => f.file),
    ["openrlhf.jsonl", "trl.jsonl", "verl.parquet"],
  );
  raw.endpoints.pi_harm.url = "http://127.0.0.1:9";
  fs.writeFileSync(path.join(dir, "down.json"), JSON.stringify(raw));
  const down = await run(path.join(dir, "down.json"), path.join(dir, "out-down"));
  assert.equal(down.code, 1);
  assert.equal(down.stderr.trim().split("\n").length, 1, down.stderr);
  assert.match(
    down.stderr,
    /^error: endpoints\.pi_harm: cannot reach http:\/\/127\.0\.0\.1:9 .*start the pi_harm server/,
  );
});
