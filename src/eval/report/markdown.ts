// The Markdown version of the report: the comparison table, IPR and J(beta) numbers, token budget,
// self-reflection and a few examples (charts are in the HTML version beside it).
import type { Column, RunData } from "./data.ts";
import { cellOf, columns, exampleIds, examples, fmtInterval, fmtValue, iprFamilies, metricsOf } from "./data.ts";

/** Escapes a table cell (pipes, newlines). */
function cell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.map(cell).join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

function comparison(runs: RunData[], cols: Column[]): string {
  return table(
    ["run", ...cols.map((c) => `${c.suite} · ${c.attack}`)],
    runs.map((r) => [
      r.name,
      ...cols.map((col) => {
        const ms = metricsOf(cellOf(r, col));
        return ms.length
          ? ms
              .map((m) => {
                const f = fmtInterval(m);
                return `${ms.length > 1 ? m.name + " " : ""}${f.value} ${f.ci}`;
              })
              .join("; ")
          : "–";
      }),
    ]),
  );
}

function ipr(runs: RunData[]): string {
  return (
    iprFamilies(runs)
      .map(
        ({ suite, family, ks }) =>
          `**${suite} · ${family}**\n\n` +
          table(
            ["run", ...ks.map((k) => `k=${k}`)],
            runs.map((r) => [
              r.name,
              ...ks.map((k) => {
                const m = metricsOf(cellOf(r, { suite, attack: family.replace("ipr:K", `ipr:${k}`) }))[0];
                return m ? `${fmtInterval(m).value} ${fmtInterval(m).ci}` : "–";
              }),
            ]),
          ),
      )
      .join("\n\n") || "_no ipr:K attacks_"
  );
}

function tokens(runs: RunData[], cols: Column[]): string {
  return table(
    ["run", "suite · attack", "CoT tokens", "response tokens", "total"],
    runs.flatMap((r) =>
      cols.flatMap((col) => {
        const c = cellOf(r, col);
        if (!c) return [];
        const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "–");
        return [
          [
            r.name,
            `${col.suite} · ${col.attack}${c.tokens.approx ? " (est.)" : ""}`,
            f(c.tokens.cot.value),
            f(c.tokens.response.value),
            `${f(c.tokens.total.value)} [${f(c.tokens.total.lo)}, ${f(c.tokens.total.hi)}]`,
          ],
        ];
      }),
    ),
  );
}

function beta(runs: RunData[]): string {
  const rows = runs.flatMap((r) =>
    r.jCurves.map((j) => [
      r.name,
      `${j.suite} · ${j.attack} (${j.metric})`,
      ...[0, 0.5, 1].map((b) => {
        const p = j.points.find((q) => Math.abs(q.beta - b) < 1e-9);
        return p ? `${fmtValue(p.value, true)} [${fmtValue(p.lo, true)}, ${fmtValue(p.hi, true)}]` : "–";
      }),
    ]),
  );
  return rows.length
    ? table(["run", "curve", "β=0", "β=0.5", "β=1"], rows)
    : "_needs a clean attack and another attack on the same graded suite_";
}

function reflection(runs: RunData[], cols: Column[]): string {
  return table(
    ["run", ...cols.map((c) => `${c.suite} · ${c.attack}`)],
    runs.map((r) => [
      r.name,
      ...cols.map((col) => {
        const c = cellOf(r, col);
        if (!c) return "–";
        const f = fmtInterval({ name: "r", iv: c.reflection, percent: true });
        return `${f.value} ${f.ci}${c.flips ? `; flips ${c.flips.flips}/${c.flips.reflected}` : ""}`;
      }),
    ]),
  );
}

function exampleMd(runs: RunData[], cols: Column[], k: number): string {
  const out: string[] = [];
  for (const suite of new Set(cols.map((c) => c.suite))) {
    const ids = exampleIds(runs, suite, k);
    for (const col of cols.filter((c) => c.suite === suite))
      for (const r of runs)
        for (const l of examples(r, col, ids)) {
          const s = l.samples[0];
          const text = l.skipped ?? l.error ?? s?.completion ?? "";
          const fence = "`".repeat(Math.max(3, ...(text.match(/`+/g) ?? []).map((m) => m.length + 1)));
          out.push(
            `**${suite} · ${col.attack} · ${r.name} · ${l.id}**${s?.grade ? ` — ${String(s.grade.label)} (${String(s.grade.score)})` : ""}\n\n${fence}\n${text.slice(0, 1500)}\n${fence}`,
          );
        }
  }
  return out.join("\n\n") || "_no examples_";
}

/** The Markdown report. */
export function reportMarkdown(runs: RunData[], o: { title?: string; examplesPerSuite?: number } = {}): string {
  const cols = columns(runs);
  return (
    [
      `# ${o.title ?? "RECAP evaluation report"}`,
      runs.map((r) => `- **${r.name}**: ${r.provider} · grader ${r.grader} · \`${r.dir}\``).join("\n"),
      "Cells: the headline metric with its 95% interval (Wilson for proportions, n = items; percentile bootstrap over items for means and pass@k, B = 1000). Charts: see the HTML report.",
      "## Comparison (Table 2 style)",
      comparison(runs, cols),
      "## Iterative prefill reset (IPR) over k",
      ipr(runs),
      "## Token budget (CoT vs response)",
      tokens(runs, cols),
      "## Evaluation mixture J(β)",
      beta(runs),
      "## Self-reflection",
      reflection(runs, cols),
      "## Examples",
      exampleMd(runs, cols, o.examplesPerSuite ?? 2),
    ].join("\n\n") + "\n"
  );
}
