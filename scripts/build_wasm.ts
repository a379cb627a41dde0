// `npm run build:wasm [-- --out DIR]`: compiles the AssemblyScript kernels (assembly/) into the
// WebAssembly binaries the `wasm` and `wasm-threads` kernel sets load (src/engine/wasm/). Two
// variants of the same source: plain 128-bit SIMD, and one with relaxed SIMD (fused multiply-add),
// which the loader only picks when the runtime validates it. The memory is imported and shared
// (the main thread and the worker run on one linear memory), up to 4 GiB. The committed binaries
// are checked against a fresh build by test/engine/wasm_build.test.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import asc from "assemblyscript/asc";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_OUT = path.join(ROOT, "src", "engine", "wasm");

/** Output file name and the extra compiler flags of each variant. */
export const WASM_VARIANTS: { file: string; flags: string[] }[] = [
  { file: "kernels.wasm", flags: [] },
  { file: "kernels_relaxed.wasm", flags: ["--enable", "relaxed-simd"] },
];

const COMMON_FLAGS = [
  "--enable",
  "simd",
  "--enable",
  "threads",
  "-O3",
  "--noAssert",
  "--runtime",
  "stub",
  "--importMemory",
  "--sharedMemory",
  "--initialMemory",
  "1",
  "--maximumMemory",
  "65536",
  "--noExportMemory",
];

/** Builds every variant into outDir; returns the written paths. Throws with the compiler's output on failure. */
export async function buildWasm(outDir: string = DEFAULT_OUT): Promise<string[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const v of WASM_VARIANTS) {
    const outFile = path.join(outDir, v.file);
    let log = "";
    const sink = {
      write: (s: string | Uint8Array) => {
        log += typeof s === "string" ? s : Buffer.from(s).toString();
        return true;
      },
    };
    const r = await asc.main(["assembly/index.ts", "-o", outFile, ...COMMON_FLAGS, ...v.flags], {
      stdout: sink,
      stderr: sink,
      readFile: (name: string, baseDir: string) => {
        const p = path.resolve(ROOT, baseDir, name);
        return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null;
      },
    });
    if (r.error) throw new Error(`asc failed for ${v.file}: ${r.error.message}\n${log}`);
    written.push(outFile);
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--out");
  const out = i >= 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]!) : DEFAULT_OUT;
  for (const f of await buildWasm(out))
    console.log(`wrote ${path.relative(process.cwd(), f)} (${fs.statSync(f).size} bytes)`);
}
