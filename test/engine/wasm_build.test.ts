// The committed WebAssembly binaries (src/engine/wasm/*.wasm) are exactly what `npm run
// build:wasm` makes from assembly/ today: rebuilt into a temporary folder and compared byte for
// byte, so the binary can never drift from its source. And the relaxed-SIMD binary, which this
// Node only runs behind a V8 flag, computes what the reference computes.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { DEFAULT_OUT, WASM_VARIANTS, buildWasm } from "../../scripts/build_wasm.ts";

test("the committed kernels.wasm files match a fresh build of assembly/", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recap-wasm-"));
  try {
    const built = await buildWasm(dir);
    assert.equal(built.length, WASM_VARIANTS.length);
    for (const v of WASM_VARIANTS) {
      const fresh = fs.readFileSync(path.join(dir, v.file));
      const committed = fs.readFileSync(path.join(DEFAULT_OUT, v.file));
      assert.ok(fresh.length > 1000, `${v.file}: the fresh build is suspiciously small`);
      assert.ok(
        fresh.equals(committed),
        `${v.file} differs from a fresh build of assembly/: run \`npm run build:wasm\``,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the relaxed-SIMD binary matches the reference (in a node with relaxed SIMD enabled)", () => {
  const script = path.join("test", "engine", "fixtures", "relaxed_check.ts");
  const run = (flags: string[]) =>
    spawnSync(process.execPath, [...flags, "--import", "tsx", script], { encoding: "utf8", timeout: 60_000 });
  let r = run(["--experimental-wasm-relaxed-simd"]);
  if (r.status !== 0 && /bad option/.test(r.stderr)) r = run([]); // a Node where relaxed SIMD needs no flag
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { variant: string; worst: number };
  assert.equal(out.variant, "relaxed-simd");
  // Fused multiply-add rounds once per step instead of twice: still f32 rounding (see wasm_ops).
  assert.ok(out.worst <= 1e-5, `relaxed SIMD: worst relative error ${out.worst}`);
});
