// Progress bars for long work, on stderr: a live bar on a terminal, a line every few seconds in
// logs (CI, pipes). Quiet when RECAP_QUIET=1 (tests).
import cliProgress from "cli-progress";

export interface Progress {
  /** Advances to `value` (absolute) with optional fields shown after the bar. */
  update(value: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/** A bar for `total` units named `label`; `fields` names extra values printed after it. */
export function progressBar(label: string, total: number, fields: string[] = []): Progress {
  if (process.env["RECAP_QUIET"] === "1") return { update() {}, stop() {} };
  const extra = fields.map((f) => `${f} {${f}}`).join(" | ");
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {percentage}% | ETA {eta_formatted}${extra ? " | " + extra : ""}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, Object.fromEntries(fields.map((f) => [f, "-"])));
  return {
    update: (value, f) => bar.update(value, f ?? {}),
    stop: () => bar.stop(),
  };
}
