// The study's outputs: study.json (every run's value of every metric, issue 17's format),
// summary.json (everything the run knows), study.md (tables a person reads or pastes into
// docs/REPRODUCTION.md), study.html (the same tables with the sweep plots inline) and one
// standalone SVG per sweep under plots/ (mean over seeds with the 95% t-interval as a band).
import * as fs from "node:fs";
import * as path from "node:path";
import { SVG_CSS, esc, lineChart, standaloneSvg } from "../eval/report/svg.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { STUDY_METRICS, type SeedStats, fmtSeedStats, markdownTable, seedStats } from "./aggregate.ts";
import type { StudyConfig } from "./config.ts";
import { DIAGNOSTIC_LABELS } from "./diagnostics.ts";
import type { StudySummary } from "./run.ts";

const LABEL = new Map(STUDY_METRICS.map(([k, l, rate]) => [k, { label: l, rate }]));

/** A model run once per base (base, SFT baseline) as a column: mean over the bases (with a
 *  t-interval over bases when there are several). */
function onceColumn(perBase: Record<string, number | null>[]): Record<string, SeedStats> {
  const col: Record<string, SeedStats> = {};
  for (const [k] of STUDY_METRICS) {
    const st = seedStats(perBase.map((m) => m[k] ?? null));
    if (st) col[k] = st;
  }
  return col;
}

const ONCE = ["base", "sft"] as const;
const isOnce = (c: string): c is (typeof ONCE)[number] => (ONCE as readonly string[]).includes(c);

/** The configured tables (default: one of every arm); columns not run yet are left out. */
function tablesMarkdown(s: StudySummary, cfg: StudyConfig): string[] {
  const tables =
    cfg.tables.length > 0
      ? cfg.tables
      : [{ title: "Every arm", columns: ["base", "sft", ...Object.keys(cfg.arms)], note: "" }];
  return tables.flatMap((t) => {
    const cols = t.columns.filter((c) => isOnce(c) || s.arms[c]);
    const nb = Object.keys(s.bases).length;
    const label = (c: string) =>
      isOnce(c)
        ? `${c} (${nb} run${nb > 1 ? "s" : ""})`
        : s.incomplete[c]
          ? `${c} (${s.arms[c]!.runs.length} of ${s.arms[c]!.runs.length + s.incomplete[c]!.length} runs)`
          : c;
    const columns = Object.fromEntries(
      cols.map((c) => [label(c), isOnce(c) ? onceColumn(Object.values(s.bases).map((b) => b[c])) : s.arms[c]!.metrics]),
    );
    const metrics = "metrics" in t && t.metrics ? STUDY_METRICS.filter(([k]) => t.metrics!.includes(k)) : STUDY_METRICS;
    const missing = t.columns.filter((c) => !cols.includes(c));
    return [
      `## ${t.title}`,
      "",
      ...(t.note ? [t.note, ""] : []),
      markdownTable(columns, metrics),
      ...(missing.length ? [`Not run yet: ${missing.join(", ")}.`, ""] : []),
    ];
  });
}

function sweepRows(
  s: StudySummary,
  sw: StudyConfig["sweeps"][number],
): { x: number; arm: string; stats: Record<string, SeedStats> }[] {
  return sw.points
    .filter((p) => s.arms[p.arm])
    .map((p) => ({ x: p.x, arm: p.arm, stats: s.arms[p.arm]!.metrics }))
    .sort((a, b) => a.x - b.x);
}

function sweepChart(s: StudySummary, sw: StudyConfig["sweeps"][number]): string | null {
  const rows = sweepRows(s, sw);
  if (rows.length < 2) return null;
  const allRates = sw.metrics.every((m) => LABEL.get(m)?.rate ?? true);
  const series = sw.metrics.map((m) => ({
    name: LABEL.get(m)?.label ?? m,
    points: rows
      .filter((r) => r.stats[m])
      .map((r) => ({
        x: r.x,
        y: r.stats[m]!.mean,
        lo: Math.max(0, r.stats[m]!.lo),
        hi: allRates ? Math.min(1, r.stats[m]!.hi) : r.stats[m]!.hi,
      })),
  }));
  return lineChart(
    sw.title,
    sw.x_label,
    allRates ? "rate (mean over seeds, 95% t-interval)" : "value",
    series,
    allRates ? { yMax: 1, format: (v) => `${Math.round(100 * v)}%` } : {},
  );
}

function sweepMarkdown(s: StudySummary, sw: StudyConfig["sweeps"][number]): string {
  const rows = sweepRows(s, sw);
  const head = `| ${sw.x_label} | arm | ${sw.metrics.map((m) => `${LABEL.get(m)?.label ?? m}${LABEL.get(m)?.rate !== false ? " %" : ""}`).join(" | ")} |`;
  const lines = rows.map(
    (r) =>
      `| ${r.x} | ${r.arm} | ${sw.metrics.map((m) => fmtSeedStats(r.stats[m], LABEL.get(m)?.rate ?? true)).join(" | ")} |`,
  );
  return [head, `|---|---|${sw.metrics.map(() => "---").join("|")}|`, ...lines].join("\n") + "\n";
}

type TrainingCurve = StudyConfig["training_curves"][number];

/** Per arm of a training curve: at each step the mean over the arm's runs, then the trailing
 *  moving mean over `window` steps (null before any value). */
export function trainingCurve(
  s: StudySummary,
  t: TrainingCurve,
): { arm: string; runs: number; steps: (number | null)[] }[] {
  return t.arms.flatMap((arm) => {
    // A run imported from a record that kept no curves (imported.ts) has no per-step values:
    // it is not a line of the curve.
    const runs = (s.arms[arm]?.curves[t.metric] ?? []).filter((r) => r.length > 0);
    if (runs.length === 0) return [];
    const n = Math.max(...runs.map((r) => r.length));
    const perStep = Array.from({ length: n }, (_, i) => {
      const xs = runs.map((r) => r[i]).filter((v): v is number => typeof v === "number");
      return xs.length ? xs.reduce((a, v) => a + v, 0) / xs.length : null;
    });
    const steps = perStep.map((_, i) => {
      const w = perStep.slice(Math.max(0, i - t.window + 1), i + 1).filter((v): v is number => v !== null);
      return w.length ? w.reduce((a, v) => a + v, 0) / w.length : null;
    });
    return [{ arm, runs: runs.length, steps }];
  });
}

function trainingChart(s: StudySummary, t: TrainingCurve): string | null {
  const lines = trainingCurve(s, t);
  if (lines.length === 0) return null;
  const series = lines.map((l) => ({
    name: `${l.arm} (${l.runs} run${l.runs === 1 ? "" : "s"})`,
    points: l.steps.flatMap((y, i) => (y === null ? [] : [{ x: i + 1, y }])),
  }));
  return lineChart(t.title, "RL step", `${t.metric}, ${t.window}-step moving mean over runs`, series);
}

/** The moving mean at five evenly spaced steps, per arm: a levelled-off curve has equal late cells. */
function trainingMarkdown(s: StudySummary, t: TrainingCurve): string {
  const lines = trainingCurve(s, t);
  if (lines.length === 0) return "No runs yet.\n";
  const n = Math.max(...lines.map((l) => l.steps.length));
  const at = [...new Set([t.window, n / 4, n / 2, (3 * n) / 4, n].map((x) => Math.max(1, Math.round(x))))];
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v.toFixed(3));
  return (
    [
      `| arm | ${at.map((x) => `step ${x}`).join(" | ")} |`,
      `|---|${at.map(() => "---").join("|")}|`,
      ...lines.map(
        (l) =>
          `| ${l.arm} (${l.runs} run${l.runs === 1 ? "" : "s"}) | ${at.map((x) => fmt(l.steps[x - 1])).join(" | ")} |`,
      ),
    ].join("\n") + "\n"
  );
}

export const BETAS = [0, 0.25, 0.5, 0.75, 1];

type BetaCurve = StudyConfig["beta_curves"][number];

/** Per arm, J(beta) = (1 - beta) J_clean + beta J_attack computed per seed, then over seeds. */
export function betaCurve(
  s: StudySummary,
  b: BetaCurve,
): { arm: string; points: { beta: number; stats: SeedStats }[] }[] {
  return b.arms
    .filter((a) => s.arms[a]?.metrics[b.clean] && s.arms[a]?.metrics[b.attacked])
    .map((a) => {
      const c = s.arms[a]!.metrics[b.clean]!.values,
        x = s.arms[a]!.metrics[b.attacked]!.values;
      const points = BETAS.map((beta) => ({
        beta,
        stats: seedStats(
          c.map((v, i) => (v === null || x[i] === null || x[i] === undefined ? null : (1 - beta) * v + beta * x[i]!)),
        )!,
      })).filter((p) => p.stats);
      return { arm: a, points };
    });
}

function betaMarkdown(s: StudySummary, b: BetaCurve): string {
  const curves = betaCurve(s, b);
  const head = `| beta | ${curves.map((c) => c.arm).join(" | ")} |`;
  const rows = BETAS.map(
    (beta) =>
      `| ${beta} | ${curves.map((c) => fmtSeedStats(c.points.find((p) => p.beta === beta)?.stats, true)).join(" | ")} |`,
  );
  return [head, `|---|${curves.map(() => "---").join("|")}|`, ...rows].join("\n") + "\n";
}

function betaChart(s: StudySummary, b: BetaCurve): string | null {
  const curves = betaCurve(s, b);
  if (curves.length === 0) return null;
  return lineChart(
    b.title,
    "beta (share of prefilled starts)",
    "J(beta), mean over seeds",
    curves.map((c) => ({
      name: c.arm,
      points: c.points.map((p) => ({
        x: p.beta,
        y: p.stats.mean,
        lo: Math.max(0, p.stats.lo),
        hi: Math.min(1, p.stats.hi),
      })),
    })),
    { yMax: 1, format: (v) => `${Math.round(100 * v)}%` },
  );
}

/** Every diagnostic is a non-negative quantity: its interval is shown clipped at 0. */
function nonNegative(st: SeedStats | undefined): SeedStats | undefined {
  return st && { ...st, lo: Math.max(0, st.lo) };
}

function diagnosticsMarkdown(s: StudySummary): string {
  const arms = Object.keys(s.arms);
  const lines = DIAGNOSTIC_LABELS.filter(([k]) => arms.some((a) => s.arms[a]!.training[k])).map(
    ([k, label, rate]) =>
      `| ${label} | ${arms.map((a) => fmtSeedStats(nonNegative(s.arms[a]!.training[k]), rate, 3)).join(" | ")} |`,
  );
  return [`| training | ${arms.join(" | ")} |`, `|---|${arms.map(() => "---").join("|")}|`, ...lines].join("\n") + "\n";
}

function header(s: StudySummary): string[] {
  const d = s.demo;
  const bases = Object.values(s.bases)
    .map((b) => `${b.name} (world seed ${b.world_seed}; ${b.source})`)
    .join(", ");
  return [
    `World ${s.world_version}; bases: ${bases}; each arm: ${d.rl.steps} RL steps of ${d.rl.prompts_per_step} prompt groups x G = ${d.rl.group_size} (unless the arm changes it), lr ${d.rl.lr}, RL seeds ${s.seeds.join(", ")}, from each of its bases.`,
    `Evaluation: the first ${d.eval.limit} held-out rows per suite of each base's world, temperature ${d.eval.temperature}, top-p ${d.eval.top_p}, one sample per item. Cells: mean over the arm's (base, seed) runs [95% Student-t interval over those runs]; base and SFT baseline (the base fine-tuned for ${d.sft_baseline_steps} steps on safe traces only) are one run per base.`,
  ];
}

/** Comparisons per table: more columns would not fit a page. */
const COMPARISONS_PER_TABLE = 6;

/** The configured paired comparisons: A - B per (base, seed), in tables of at most six. */
export function comparisonsMarkdown(s: StudySummary): string[] {
  const entries = Object.entries(s.comparisons);
  if (entries.length === 0) return [];
  const tables: string[] = [];
  for (let i = 0; i < entries.length; i += COMPARISONS_PER_TABLE) {
    const chunk = entries.slice(i, i + COMPARISONS_PER_TABLE);
    const columns = chunk.map(([k, v]) => [`${k} (${v.runs.length} pair${v.runs.length === 1 ? "" : "s"})`, v.metrics]);
    tables.push(markdownTable(Object.fromEntries(columns), STUDY_METRICS, false), "");
  }
  return [
    "## Paired differences",
    "",
    "A - B per (base, seed) run of both arms; mean [95% t-interval over the pairs].",
    "",
    ...tables,
  ];
}

/** Base-to-base against seed-to-seed spread, for arms run from more than one base. */
function varianceMarkdown(s: StudySummary): string[] {
  const arms = Object.entries(s.arms).filter(([, a]) => Object.keys(a.variance).length > 0);
  if (arms.length === 0) return [];
  const keys = STUDY_METRICS.filter(([k]) => arms.some(([, a]) => a.variance[k]));
  const f = (v: number | undefined, rate: boolean) =>
    v === undefined || !Number.isFinite(v) ? "-" : rate ? (100 * v).toFixed(1) : v.toFixed(1);
  return [
    "## Base-to-base and seed-to-seed spread",
    "",
    "Per arm: SD of the base means / pooled SD of the runs around their base's mean (points for rates).",
    "",
    `| metric | ${arms.map(([n]) => n).join(" | ")} |`,
    `|---|${arms.map(() => "---").join("|")}|`,
    ...keys.map(
      ([k, label, rate]) =>
        `| ${label} | ${arms.map(([, a]) => `${f(a.variance[k]?.between_bases_sd, rate)} / ${f(a.variance[k]?.within_base_sd, rate)}`).join(" | ")} |`,
    ),
    "",
  ];
}

/** The guard's calibration per base (the continuous safety reward). */
function guardMarkdown(s: StudySummary): string[] {
  const rows = Object.values(s.bases).filter((b) => b.guard);
  if (rows.length === 0) return [];
  const f = (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "-");
  return [
    "## The world guard (continuous safety reward)",
    "",
    "Calibration against the exact judge on held-out pairs (the evaluation suites' requests, sampled from the base clean and after counter-aligned prefills).",
    "",
    "| base | held-out pairs | unsafe | accuracy | AUROC | Brier | ECE |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (b) =>
        `| ${b.name} | ${b.guard!["heldout_pairs"] ?? "-"} | ${b.guard!["heldout_unsafe"] ?? "-"} | ${f(b.guard!["accuracy"])} | ${f(b.guard!["auroc"])} | ${f(b.guard!["brier"])} | ${f(b.guard!["ece"])} |`,
    ),
    "",
  ];
}

/** The runs taken from an earlier record (--import), named: their values are the record's. */
function importedMarkdown(s: StudySummary): string[] {
  const runs = Object.entries(s.imported?.runs ?? {});
  if (runs.length === 0) return [];
  return [
    "## Runs from an earlier record",
    "",
    `These runs were not run in this folder: their values are those ${s.imported!.file} recorded for the same arm settings (\`--import\`), their training curves too where the record kept them.`,
    "",
    runs.map(([n, rs]) => `- ${n}: ${rs.map((r) => `${r.base} seed ${r.seed}`).join(", ")}`).join("\n"),
    "",
  ];
}

/** study.json: every run's value of every metric, in the issue's format. */
export function studyJson(s: StudySummary): Record<string, unknown> {
  const stats = (st: SeedStats, runs: { base: string; seed: number }[]) => ({
    mean: st.mean,
    ci95: Number.isFinite(st.lo) ? [st.lo, st.hi] : null,
    per_run: runs.map((r, i) => ({ base: r.base, seed: r.seed, value: st.values[i] ?? null })),
  });
  return {
    world: s.world_version,
    bases: Object.values(s.bases).map((b) => {
      const { checkpoint: _where, ...guard } = b.guard ?? {}; // a path on the machine that ran it
      return { name: b.name, world_seed: b.world_seed, source: b.source, guard_calibration: b.guard ? guard : null };
    }),
    rl_seeds: s.seeds,
    intervals: "95% Student-t over an arm's (base, seed) runs; comparisons: over the (base, seed) pairs both arms ran",
    reference: Object.fromEntries(Object.values(s.bases).map((b) => [b.name, { base: b.base, sft: b.sft }])),
    arms: Object.fromEntries(
      Object.entries(s.arms).map(([n, a]) => [
        n,
        {
          group_size: (a.rl["group_size"] as number | undefined) ?? s.demo.rl.group_size,
          steps: (a.rl["steps"] as number | undefined) ?? s.demo.rl.steps,
          overrides: { preset: a.preset, rl: a.rl, train: a.train, safety_reward: a.safety_reward },
          runs: a.runs,
          metrics: Object.fromEntries(Object.entries(a.metrics).map(([k, st]) => [k, stats(st, a.runs)])),
          variance: a.variance,
          training: Object.fromEntries(Object.entries(a.training).map(([k, st]) => [k, stats(st, a.runs)])),
          // Per training-curve metric, each run's value at every step (empty for a run imported
          // from a record that had none): what lets --import redraw the curves.
          curves: Object.fromEntries(
            Object.entries(a.curves).map(([k, runs]) => [
              k,
              a.runs.map((r, i) => ({ base: r.base, seed: r.seed, steps: runs[i] ?? [] })),
            ]),
          ),
        },
      ]),
    ),
    comparisons: Object.fromEntries(
      Object.entries(s.comparisons).map(([k, c]) => [
        k,
        Object.fromEntries(Object.entries(c.metrics).map(([m, st]) => [m, stats(st, c.runs)])),
      ]),
    ),
    pending: s.pending,
    incomplete: s.incomplete,
    imported: s.imported,
  };
}

/** Writes every output of the study atomically; returns the paths. */
export async function writeStudyReport(out: string, cfg: StudyConfig, s: StudySummary): Promise<StudySummary["files"]> {
  const plotsDir = path.join(out, "plots");
  fs.mkdirSync(plotsDir, { recursive: true });
  const plots: string[] = [];
  const charts: string[] = [];
  const named = [
    ...cfg.sweeps.map((sw, i) => ({ name: `sweep-${i + 1}.svg`, chart: sweepChart(s, sw) })),
    ...cfg.beta_curves.map((b, i) => ({ name: `beta-${i + 1}.svg`, chart: betaChart(s, b) })),
    ...cfg.training_curves.map((t, i) => ({ name: `training-${i + 1}.svg`, chart: trainingChart(s, t) })),
  ];
  for (const { name, chart } of named) {
    if (!chart) continue;
    const file = path.join(plotsDir, name);
    await writeFileAtomic(file, standaloneSvg(chart));
    plots.push(file);
    charts.push(chart);
  }
  const md = [
    "# recap study",
    "",
    ...header(s),
    "",
    "## Arms",
    "",
    ...Object.entries(cfg.arms).map(
      ([n, a]) =>
        `- **${n}** (${a.preset}${Object.keys(a.rl).length ? `, rl ${JSON.stringify(a.rl)}` : ""}${Object.keys(a.train).length ? `, train ${JSON.stringify(a.train)}` : ""})${a.note ? `: ${a.note}` : ""}${s.arms[n] ? (s.incomplete[n] ? " — runs missing (below)" : "") : " — not run yet"}`,
    ),
    "",
    ...tablesMarkdown(s, cfg),
    ...comparisonsMarkdown(s),
    ...varianceMarkdown(s),
    ...guardMarkdown(s),
    "## Training",
    "",
    diagnosticsMarkdown(s),
    ...cfg.training_curves.flatMap((t, i) => {
      const plot = plots.find((p) => p.endsWith(`training-${i + 1}.svg`));
      return [
        `### ${t.title}`,
        "",
        `${t.metric} per RL step, the mean over each arm's runs, as a trailing ${t.window}-step moving mean:`,
        "",
        trainingMarkdown(s, t),
        ...(plot ? [`![${t.title}](plots/${path.basename(plot)})`, ""] : []),
      ];
    }),
    ...cfg.sweeps.flatMap((sw, i) => {
      const plot = plots.find((p) => p.endsWith(`sweep-${i + 1}.svg`));
      return [
        `## ${sw.title}`,
        "",
        sweepMarkdown(s, sw),
        ...(plot ? [`![${sw.title}](plots/${path.basename(plot)})`, ""] : []),
      ];
    }),
    ...cfg.beta_curves.flatMap((b, i) => {
      const plot = plots.find((p) => p.endsWith(`beta-${i + 1}.svg`));
      return [
        `## ${b.title}`,
        "",
        `J(beta) = (1 - beta) ${b.clean} + beta ${b.attacked}, per seed, then mean [95% t-interval] over seeds.`,
        "",
        betaMarkdown(s, b),
        ...(plot ? [`![${b.title}](plots/${path.basename(plot)})`, ""] : []),
      ];
    }),
    ...(s.pending.length > 0 ? ["## Not run yet", "", s.pending.map((p) => `- ${p}`).join("\n"), ""] : []),
    ...(Object.keys(s.incomplete).length > 0
      ? [
          "## Runs still missing",
          "",
          "These arms are reported above on their finished runs only.",
          "",
          Object.entries(s.incomplete)
            .map(([n, rs]) => `- ${n}: ${rs.map((r) => `${r.base} seed ${r.seed}`).join(", ")}`)
            .join("\n"),
          "",
        ]
      : []),
    ...importedMarkdown(s),
  ].join("\n");
  const mdFile = path.join(out, "study.md");
  const htmlFile = path.join(out, "study.html");
  const jsonFile = path.join(out, "study.json");
  const summaryFile = path.join(out, "summary.json");
  const files = { markdown: mdFile, html: htmlFile, json: jsonFile, summary: summaryFile, plots };
  await writeFileAtomic(mdFile, md);
  await writeFileAtomic(htmlFile, html(md, charts));
  await writeFileAtomic(jsonFile, JSON.stringify(studyJson(s), null, 2) + "\n");
  await writeFileAtomic(summaryFile, JSON.stringify({ ...s, files }, null, 2) + "\n");
  return files;
}

/** The Markdown as HTML (headings, paragraphs, list items, pipe tables), the charts inline. */
function html(md: string, charts: string[]): string {
  const body: string[] = [];
  let table: string[][] = [];
  const flush = () => {
    if (table.length === 0) return;
    const [head, , ...rows] = table;
    body.push(
      `<table><tr>${head!.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</table>`,
    );
    table = [];
  };
  for (const line of md.split("\n")) {
    if (line.startsWith("|")) {
      table.push(
        line
          .slice(1, -1)
          .split("|")
          .map((c) => c.trim()),
      );
      continue;
    }
    flush();
    if (line.startsWith("![")) continue; // the plots are inline below
    if (line.startsWith("## ")) body.push(`<h2>${esc(line.slice(3))}</h2>`);
    else if (line.startsWith("# ")) body.push(`<h1>${esc(line.slice(2))}</h1>`);
    else if (line.startsWith("- ")) body.push(`<li>${esc(line.slice(2).replace(/\*\*/g, ""))}</li>`);
    else if (line.trim() !== "") body.push(`<p>${esc(line)}</p>`);
  }
  flush();
  const style =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#222}" +
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px}th{background:#f5f5f5}" +
    SVG_CSS;
  return `<!doctype html><html><head><meta charset="utf-8"><title>recap study</title><style>${style}</style></head><body>${body.join("\n")}<div>${charts.join("")}</div></body></html>\n`;
}
