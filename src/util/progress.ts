// Progress bars for long work, on stderr: a live bar on a terminal, a plain line every few seconds
// in logs (CI, pipes, nohup). Quiet when RECAP_QUIET=1 (tests).
//
// The log lines are written from `update` itself, not from a timer: training loops are
// synchronous, so a timer-driven renderer would never get the event loop and a log would show
// only the opening "0/N" line for the whole run.
import cliProgress from "cli-progress";

export interface Progress {
  /** Advances to `value` (absolute) with optional fields shown after the bar. */
  update(value: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

/** Where the plain log lines go, and how often (tests pass their own). */
export interface LineSink {
  write(line: string): void;
  now(): number;
  everyMs: number;
}

const STDERR_SINK: LineSink = { write: (l) => process.stderr.write(l), now: () => Date.now(), everyMs: 5000 };

/** A bar for `total` units named `label`; `fields` names extra values printed after it. */
export function progressBar(label: string, total: number, fields: string[] = []): Progress {
  if (process.env["RECAP_QUIET"] === "1") return { update() {}, stop() {} };
  if (!process.stderr.isTTY) return progressLines(label, total, fields);
  const extra = fields.map((f) => `${f} {${f}}`).join(" | ");
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {percentage}% | ETA {eta_formatted}${extra ? " | " + extra : ""}`,
      stream: process.stderr,
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

/** The log form: "label 120/1800 (6.7%) | ETA 14m02s | loss 0.0812", at most one line per
 *  `sink.everyMs`, plus the first and the last value. The ETA counts only the units done since
 *  the first update (a resumed run starts at its checkpoint's step). */
export function progressLines(
  label: string,
  total: number,
  fields: string[] = [],
  sink: LineSink = STDERR_SINK,
): Progress {
  let first: { value: number; at: number } | null = null;
  let lastAt = -Infinity,
    lastValue = -1;
  const shown: Record<string, string | number> = Object.fromEntries(fields.map((f) => [f, "-"]));
  const line = (value: number): string => {
    const pct = total > 0 ? ((100 * value) / total).toFixed(1) : "100.0";
    let eta = "-";
    if (first && value > first.value) {
      const perUnit = (sink.now() - first.at) / (value - first.value);
      eta = formatSeconds(((total - value) * perUnit) / 1000);
    }
    const extra = fields.map((f) => ` | ${f} ${shown[f]}`).join("");
    return `${label} ${value}/${total} (${pct}%) | ETA ${eta}${extra}\n`;
  };
  return {
    update(value, f) {
      Object.assign(shown, f ?? {});
      const now = sink.now();
      if (!first) first = { value, at: now };
      if (now - lastAt >= sink.everyMs || (value >= total && lastValue < total)) {
        sink.write(line(value));
        lastAt = now;
      }
      lastValue = value;
    },
    stop() {},
  };
}

/** 842 -> "14m02s", 3725 -> "1h02m05s". */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600),
    m = Math.floor((t % 3600) / 60),
    sec = t % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : `${m}m${pad(sec)}s`;
}
