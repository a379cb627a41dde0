// Files shared by the training loops' run folders: the metrics log that a resumed run trims
// back to its checkpoint, and the config fingerprint that a resume must match.
import * as crypto from "node:crypto";
import * as fs from "node:fs";

/** A short fingerprint of a config; the kernel choice does not change results' meaning. */
export function hashConfig(c: object): string {
  return crypto
    .createHash("sha256")
    .update(JSON.stringify({ ...c, kernels: undefined }))
    .digest("hex")
    .slice(0, 16);
}

/** Keeps metric lines of steps <= step (drops a torn last line after a crash). */
export function truncateMetrics(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => {
      try {
        return (JSON.parse(l) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  fs.writeFileSync(file, kept.map((l) => l + "\n").join(""));
}
