// Crash-safe file and directory replacement: write-to-temp, fsync, rename.
//
// writeFileAtomic(path, data)
//   Writes `<path>.tmp-<unique>` in the same directory, fsyncs it, renames it over `path`, then
//   fsyncs the directory (best effort). rename(2) within one filesystem is atomic, so a reader
//   sees either the complete old file (or no file) or the complete new file, never a partial one.
//   If the process dies before the rename, `path` is untouched and a stray `*.tmp-*` file may be
//   left behind; on an ordinary (thrown) failure the temp file is removed.
//
// replaceDirAtomic(finalDir, fill)
//   Directories cannot be renamed over a non-empty directory atomically, so the swap takes two
//   renames. What a reader of `finalDir` sees if the process dies at each step:
//     1. while fill() writes into `.<name>.tmp-<unique>` (sibling): the old finalDir, intact.
//     2. after the files are fsynced, before the first rename: the old finalDir, intact.
//     3. between `finalDir -> .<name>.bak-<unique>` and `tmp -> finalDir` (a window of one
//        syscall): finalDir is ABSENT; the complete old copy is in the .bak-* sibling and the
//        complete new copy in the .tmp-* sibling. Nothing is ever half-written.
//     4. after the second rename: the complete new finalDir; a stale .bak-* sibling may remain
//        until it is removed.
//   So finalDir, when it exists, is always one complete checkpoint (old or new). On a thrown
//   failure the temp dir is removed and the old finalDir is left (or put back) in place.
//
// recoverDirAtomic(finalDir)
//   What a resume calls first: after a kill in step 3 it renames the complete sibling back to
//   finalDir (the new .tmp-* of that swap, else the old .bak-*), and it removes stale .tmp-* /
//   .bak-* siblings left by kills at any step (not those of a live writer).
import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";

function uniqueSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/** fsync a directory so that renames inside it are durable; ignored where unsupported. */
async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync directories; durability is best effort there.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Atomically replaces `file` with `data` (see the module comment for the guarantee). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${uniqueSuffix()}`);
  try {
    const fh = await fsp.open(tmp, "wx");
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dir);
}

/** fsyncs every regular file under `dir` (recursively), then the directories themselves. */
async function fsyncTree(dir: string): Promise<void> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await fsyncTree(p);
    else if (e.isFile()) await fsyncFile(p);
  }
  await fsyncDir(dir);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

/**
 * Builds a new directory with `fill(tmpDir)` and swaps it into place at `finalDir`
 * (see the module comment for what a reader sees if the process dies at each step).
 */
export async function replaceDirAtomic(finalDir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const abs = path.resolve(finalDir);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  const suffix = uniqueSuffix();
  const tmp = path.join(parent, `.${base}.tmp-${suffix}`);
  const bak = path.join(parent, `.${base}.bak-${suffix}`);
  await fsp.mkdir(parent, { recursive: true });
  await fsp.mkdir(tmp);
  let movedOld = false;
  try {
    await fill(tmp);
    await fsyncTree(tmp);
    if (await exists(abs)) {
      await fsp.rename(abs, bak);
      movedOld = true;
    }
    await fsp.rename(tmp, abs);
  } catch (e) {
    if (movedOld && !(await exists(abs))) await fsp.rename(bak, abs).catch(() => undefined);
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  await fsyncDir(parent);
  if (movedOld) await fsp.rm(bak, { recursive: true, force: true });
}

/** Whether the process that named a temp sibling (`<pid>-...` suffix) is alive and not this one. */
function ownerAlive(suffix: string): boolean {
  const pid = Number(suffix.split("-")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Recovery {
  /** Which sibling became `finalDir` again ("tmp": the complete new copy; "bak": the old one), or null. */
  restored: "tmp" | "bak" | null;
  /** Stale siblings removed. */
  removed: string[];
}

/**
 * Repairs what a kill during replaceDirAtomic(finalDir) leaves (see the module comment):
 *   - finalDir missing (a kill between the two renames): the `.tmp-*` of the same swap is
 *     complete (it was fsynced before the first rename), so it becomes finalDir; without it, the
 *     newest `.bak-*` (the complete old copy) does;
 *   - then every other `.<name>.tmp-*` (a fill cut short) and `.<name>.bak-*` is removed, except
 *     those named by a live process other than this one (a writer at work).
 * Returns what it did; a folder without such siblings is left as it is.
 */
export async function recoverDirAtomic(finalDir: string): Promise<Recovery> {
  const abs = path.resolve(finalDir);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  const out: Recovery = { restored: null, removed: [] };
  let names: string[];
  try {
    names = await fsp.readdir(parent);
  } catch {
    return out;
  }
  const tmpPrefix = `.${base}.tmp-`,
    bakPrefix = `.${base}.bak-`;
  const tmps = names.filter((n) => n.startsWith(tmpPrefix));
  const baks = names.filter((n) => n.startsWith(bakPrefix)).sort();
  if (!(await exists(abs)) && baks.length > 0) {
    const mtime = async (n: string) => (await fsp.stat(path.join(parent, n))).mtimeMs;
    let newest = baks[0]!;
    for (const b of baks) if ((await mtime(b)) > (await mtime(newest))) newest = b;
    const suffix = newest.slice(bakPrefix.length);
    const pair = tmps.find((t) => t.slice(tmpPrefix.length) === suffix);
    await fsp.rename(path.join(parent, pair ?? newest), abs);
    out.restored = pair ? "tmp" : "bak";
  }
  if (await exists(abs)) {
    const now = await fsp.readdir(parent);
    for (const n of now) {
      const suffix = n.startsWith(tmpPrefix)
        ? n.slice(tmpPrefix.length)
        : n.startsWith(bakPrefix)
          ? n.slice(bakPrefix.length)
          : null;
      if (suffix === null || ownerAlive(suffix)) continue;
      await fsp.rm(path.join(parent, n), { recursive: true, force: true });
      out.removed.push(n);
    }
    if (out.restored || out.removed.length > 0) await fsyncDir(parent);
  }
  return out;
}
