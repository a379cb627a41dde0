// The source tree's layering: no module outside src/cli imports from src/cli, and the top-level
// folders of src/ import one another without a cycle (each folder pair one way at most), so the
// layers read top to bottom. docs/ARCHITECTURE.md names every top-level folder of src/ and of
// the repository. A new import that closes a cycle fails here with the files that close it.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const SRC = path.join(ROOT, "src");
const IMPORT = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "wasm" ? [] : sources(p);
    return /\.(ts|mjs)$/.test(e.name) ? [p] : [];
  });
}

/** Folder-level edges: from -> to -> the files that import across. */
function folderGraph(): Map<string, Map<string, string[]>> {
  const g = new Map<string, Map<string, string[]>>();
  for (const file of sources(SRC)) {
    const from = path.relative(SRC, file).split(path.sep)[0]!;
    for (const m of fs.readFileSync(file, "utf8").matchAll(IMPORT)) {
      const target = path.relative(SRC, path.resolve(path.dirname(file), m[1]!));
      if (target.startsWith("..")) continue;
      const to = target.split(path.sep)[0]!;
      if (to === from || to.includes(".")) continue;
      const edges = g.get(from) ?? new Map<string, string[]>();
      g.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), path.relative(ROOT, file)]);
    }
  }
  return g;
}

test("nothing outside src/cli imports from src/cli", () => {
  const offenders = [...folderGraph()].flatMap(([from, edges]) => (from === "cli" ? [] : (edges.get("cli") ?? [])));
  assert.deepEqual(offenders, []);
});

test("the top-level folders of src/ import one another without a cycle", () => {
  const g = folderGraph();
  // Depth-first search for a cycle; report the path and one file per edge.
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === "done") return null;
    if (state.get(n) === "open") return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, "open");
    stack.push(n);
    for (const to of g.get(n)?.keys() ?? []) {
      const c = visit(to);
      if (c) return c;
    }
    stack.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of g.keys()) {
    const cycle = visit(n);
    const why = cycle?.slice(1).map((to, i) => `${cycle[i]} -> ${to} (${g.get(cycle[i]!)!.get(to)![0]})`);
    assert.equal(cycle, null, `import cycle: ${why?.join(", ")}`);
  }
});

test("docs/ARCHITECTURE.md names every top-level folder of src/ and of the repository", () => {
  const doc = fs.readFileSync(path.join(ROOT, "docs", "ARCHITECTURE.md"), "utf8");
  const srcDirs = fs
    .readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `src/${e.name}/`);
  const ignored = new Set(["node_modules", "runs", "tmp"]); // local, not in the repository
  const rootDirs = fs
    .readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !ignored.has(e.name) && (!e.name.startsWith(".") || e.name === ".ci"))
    .map((e) => `${e.name}/`);
  const missing = [...srcDirs, ...rootDirs].filter((d) => !doc.includes(`\`${d}`));
  assert.deepEqual(missing, []);
});
