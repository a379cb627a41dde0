// The prefill cache: one JSONL file, one line per sampled thinking, keyed by
// sha256(source model, api, template, messages, sampling params, seed) — not by URL, so moving
// the source model to another server keeps the cache valid. Each line is written and fdatasync'd
// as its sample arrives, so a crash (even SIGKILL) loses at most the samples in flight. On open,
// a torn last line (a crash mid-write) or any unreadable line is skipped and counted, and the file
// is made to end with a newline before anything is appended. The first record of a key wins.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { RecapError } from "../../util/errors.ts";

export interface CachedPrefill {
  key: string;
  role: string;
  model: string;
  /** The endpoint that answered (provenance only; not part of the key). */
  url: string;
  /** Item id it was sampled for (provenance only). */
  id: string;
  seed: number;
  /** The whole sampled thinking (before any `</think>`), untruncated. */
  text: string;
  finish_reason: string;
  completion_tokens: number;
}

/** A stable key: sha256 of the canonical JSON of `parts` (object keys sorted). */
export function cacheKey(parts: Record<string, unknown>): string {
  const canon = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canon(parts)))
    .digest("hex");
}

function isRecord(v: unknown): v is CachedPrefill {
  const r = v as CachedPrefill;
  return (
    !!r &&
    typeof r === "object" &&
    typeof r.key === "string" &&
    typeof r.text === "string" &&
    typeof r.role === "string"
  );
}

export class PrefillCache {
  private readonly map = new Map<string, CachedPrefill>();
  /** Lines skipped on open (torn or invalid). */
  skipped = 0;
  private fd: number;

  private constructor(readonly file: string) {
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        const r = JSON.parse(line) as unknown;
        if (isRecord(r)) {
          if (!this.map.has(r.key)) this.map.set(r.key, r);
        } else this.skipped++;
      } catch {
        this.skipped++;
      }
    }
    this.fd = fs.openSync(file, "a");
    if (text.length > 0 && !text.endsWith("\n")) fs.writeSync(this.fd, "\n");
  }

  /** Opens (creating) `<dir>/prefills.jsonl`. */
  static open(dir: string): PrefillCache {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === "EEXIST" || code === "ENOTDIR"
          ? "a file is in the way (it or a parent folder is a file)"
          : (e as Error).message;
      throw new RecapError(
        `cannot use the prefill cache folder ${dir}: ${why}`,
        "set cache_dir to a folder path (or remove the file), or leave it out to use OUT/cache",
      );
    }
    return new PrefillCache(path.join(dir, "prefills.jsonl"));
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): CachedPrefill | undefined {
    return this.map.get(key);
  }

  /** Appends one record and flushes it to disk before returning. */
  put(r: CachedPrefill): void {
    if (this.map.has(r.key)) return;
    fs.writeSync(this.fd, JSON.stringify(r) + "\n");
    fs.fdatasyncSync(this.fd);
    this.map.set(r.key, r);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
