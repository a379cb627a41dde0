// The GGUF provider (node-llama-cpp from tools/llama): clear errors for a missing file, a file that
// is not GGUF and a GGUF header without the keys llama.cpp needs (checked before llama.cpp sees
// it: it aborts the process instead of throwing); and, when the optional install and the GGUF
// exporter are present, a real generation on an exported tiny model with exact token counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LlamaCppProvider } from "../../src/lm/providers/llama_cpp.ts";
import { isRecapError } from "../../src/util/errors.ts";

const installed = fs.existsSync("tools/llama/node_modules/node-llama-cpp/dist/index.js");
const skip = installed ? false : "node-llama-cpp is not installed (npm run setup:llama)";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-gguf-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

test("bad GGUF inputs give one clear error each", { skip }, async () => {
  await assert.rejects(
    LlamaCppProvider.open({ modelPath: path.join(tmp, "none.gguf") }),
    (e: unknown) => isRecapError(e) && /not found/.test(e.message),
  );
  fs.writeFileSync(path.join(tmp, "text.gguf"), "hello world, not a model");
  await assert.rejects(
    LlamaCppProvider.open({ modelPath: path.join(tmp, "text.gguf") }),
    (e: unknown) => isRecapError(e) && /bad magic/.test(e.message),
  );
  const header = Buffer.alloc(24); // magic, version 3, 0 tensors, 0 metadata keys
  header.write("GGUF", 0, "latin1");
  header.writeUInt32LE(3, 4);
  fs.writeFileSync(path.join(tmp, "empty.gguf"), header);
  await assert.rejects(
    LlamaCppProvider.open({ modelPath: path.join(tmp, "empty.gguf") }),
    (e: unknown) => isRecapError(e) && /lacks general\.architecture/.test(e.message),
  );
});

const canExport = installed && fs.existsSync("src/cli/export.ts");
test("an exported tiny model generates through llama.cpp with exact token counts", {
  skip: canExport ? false : "needs node-llama-cpp and `recap export`",
}, async () => {
  const bin = path.resolve("bin/recap.js");
  const run = (...a: string[]) =>
    spawnSync(process.execPath, [bin, ...a], { encoding: "utf8", cwd: tmp, timeout: 120_000 });
  const init = run("model", "init", "--preset", "tiny", "--seed", "2", "--out", "m");
  assert.equal(init.status, 0, init.stderr);
  const ex = run("export", "m", "--format", "gguf", "--out", "m.gguf");
  assert.equal(ex.status, 0, ex.stderr);
  const p = await LlamaCppProvider.open({ modelPath: path.join(tmp, "m.gguf") });
  try {
    const params = { maxTokens: 6, temperature: 0.8, topP: 1, seed: 3 };
    const msgs = [{ role: "user", content: "hi" }];
    const out = await p.generate([
      { key: "a", messages: msgs, params, n: 2 },
      { key: "b", messages: msgs, thinking: "the user", params, n: 1 },
    ]);
    assert.deepEqual(
      out.map((r) => [r.error, r.completions.length]),
      [
        [undefined, 2],
        [undefined, 1],
      ],
    );
    for (const c of out.flatMap((r) => r.completions)) {
      assert.ok(c.completionTokens >= 1 && c.completionTokens <= 6, `token count ${c.completionTokens}`);
      assert.equal(c.cotTokens + c.responseTokens, c.completionTokens);
    }
    const again = await p.generate([{ key: "a", messages: msgs, params, n: 2 }]);
    assert.deepEqual(again[0]!.completions, out[0]!.completions, "same seed, same samples");
    assert.equal(p.tokenizer().decode(p.tokenizer().encode("hello")), "hello");
  } finally {
    await p.close();
  }
});
