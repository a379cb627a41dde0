// The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network) comparing
// run folders: a Table-2-style comparison (rows = runs, columns = suite x attack, 95% intervals),
// metric bars per suite, the IPR curve over k, the token budget (CoT vs response), the J(beta)
// curves, self-reflection, and a per-suite drill-down of example completions (HTML-escaped).
import type { Column, RunData } from "./data.ts";
import { cellOf, columns, exampleIds, examples, fmtInterval, fmtValue, iprFamilies, metricsOf } from "./data.ts";
import { SVG_CSS, barChart, esc, lineChart, stackedBars } from "./svg.ts";
import type { LineSeries } from "./svg.ts";
import type { ResultLine } from "../results.ts";

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:center;vertical-align:top}
th{background:#f5f5f5}td.run,th.run{text-align:left;font-weight:600}.ci{color:#777;font-size:11px;display:block;white-space:nowrap}.wrap{overflow-x:auto;max-width:100%}.m{color:#555;font-size:11px}
.charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{background:#fff;border:1px solid #eee;max-width:100%;height:auto}
${SVG_CSS}
details{margin:6px 0;border:1px solid #e5e5e5;border-radius:4px;padding:4px 8px}summary{cursor:pointer;font-weight:600}
pre{white-space:pre-wrap;word-break:break-word;background:#f8f8f8;padding:6px;border-radius:3px;max-height:320px;overflow:auto;font-size:12px;margin:4px 0}
.ex{border-top:1px dashed #ddd;padding-top:6px;margin-top:6px}.lbl{font-size:12px;color:#555}.note{color:#666;font-size:12px}
`;

function comparisonTable(runs: RunData[], cols: Column[]): string {
  const suites = [...new Set(cols.map((c) => c.suite))];
  const head1 = suites.map((s) => `<th colspan="${cols.filter((c) => c.suite === s).length}">${esc(s)}</th>`).join("");
  const head2 = cols.map((c) => `<th>${esc(c.attack)}</th>`).join("");
  const body = runs.map((r) => {
    const tds = cols.map((col) => {
      const ms = metricsOf(cellOf(r, col));
      if (ms.length === 0) return "<td>–</td>";
      return `<td>${ms
        .map((m) => {
          const f = fmtInterval(m);
          return `${ms.length > 1 ? `<span class="m">${esc(m.name)}</span> ` : ""}${f.value}<span class="ci">${f.ci}</span>`;
        })
        .join("")}</td>`;
    });
    return `<tr><td class="run">${esc(r.name)}</td>${tds.join("")}</tr>`;
  });
  return `<div class="wrap"><table class="comparison"><thead><tr><th class="run" rowspan="2">run</th>${head1}</tr><tr>${head2}</tr></thead><tbody>${body.join("")}</tbody></table></div>`;
}

function metricBars(runs: RunData[], cols: Column[]): string[] {
  const out: string[] = [];
  for (const suite of new Set(cols.map((c) => c.suite))) {
    const sc = cols.filter((c) => c.suite === suite);
    const names = [...new Set(runs.flatMap((r) => sc.flatMap((col) => metricsOf(cellOf(r, col)).map((m) => m.name))))];
    for (const name of names) {
      const percent = name !== "score";
      const groups = sc.map((col) => ({
        label: col.attack,
        bars: runs.flatMap((r) =>
          metricsOf(cellOf(r, col))
            .filter((m) => m.name === name)
            .map((m) => ({ series: r.name, value: m.iv.value, lo: m.iv.lo, hi: m.iv.hi })),
        ),
      }));
      out.push(
        barChart({
          title: `${suite}: ${name} by attack`,
          yLabel: percent ? `${name} %` : name,
          groups,
          ...(percent ? { yMax: 1, format: (v: number) => fmtValue(v, true) } : {}),
        }),
      );
    }
  }
  return out;
}

function iprCharts(runs: RunData[]): string[] {
  return iprFamilies(runs).flatMap(({ suite, family, ks }) => {
    const at = (k: number) => ({ suite, attack: family.replace("ipr:K", `ipr:${k}`) });
    const metrics = [
      ...new Set(runs.flatMap((r) => ks.flatMap((k) => metricsOf(cellOf(r, at(k))).map((m) => m.name)))),
    ];
    return metrics.map((metric) => {
      const series: LineSeries[] = runs.map((r) => ({
        name: r.name,
        points: ks.flatMap((k) =>
          metricsOf(cellOf(r, at(k)))
            .filter((m) => m.name === metric)
            .map((m) => ({ x: k, y: m.iv.value, lo: m.iv.lo, hi: m.iv.hi })),
        ),
      }));
      const percent = metric !== "score";
      return lineChart(
        `${suite}: ${metric} under ${family} (IPR) over k`,
        "reset rounds k",
        percent ? `${metric} %` : metric,
        series,
        percent ? { yMax: 1, format: (v) => fmtValue(v, true) } : {},
      );
    });
  });
}

function tokenCharts(runs: RunData[], cols: Column[]): string[] {
  return [...new Set(cols.map((c) => c.suite))].map((suite) => {
    const bars = runs.flatMap((r) => {
      const cell = cellOf(r, { suite, attack: "clean" }) ?? r.cells.find((c) => c.suite === suite);
      if (!cell) return [];
      return [
        {
          label: `${r.name} · ${cell.attack}`,
          parts: [
            { name: "CoT tokens", value: cell.tokens.cot.value },
            { name: "response tokens", value: cell.tokens.response.value },
          ],
          total: { lo: cell.tokens.total.lo, hi: cell.tokens.total.hi },
        },
      ];
    });
    const approx = runs.some((r) => r.cells.some((c) => c.suite === suite && c.tokens.approx));
    return stackedBars(`${suite}: token budget per sample${approx ? " (split estimated)" : ""}`, "tokens", bars);
  });
}

function betaCharts(runs: RunData[]): string[] {
  const keys = new Map<string, { suite: string; attack: string; metric: string }>();
  for (const r of runs) for (const j of r.jCurves) keys.set(JSON.stringify([j.suite, j.attack, j.metric]), j);
  return [...keys.values()].map(({ suite, attack, metric }) => {
    const series: LineSeries[] = runs.flatMap((r) => {
      const j = r.jCurves.find((c) => c.suite === suite && c.attack === attack && c.metric === metric);
      return j ? [{ name: r.name, points: j.points.map((p) => ({ x: p.beta, y: p.value, lo: p.lo, hi: p.hi })) }] : [];
    });
    return lineChart(`${suite}: J(β) = (1−β)·clean + β·${attack} (${metric})`, "β", `${metric} %`, series, {
      yMax: 1,
      format: (v) => fmtValue(v, true),
    });
  });
}

function reflectionTable(runs: RunData[], cols: Column[]): string {
  const head = cols.map((c) => `<th>${esc(c.suite)}<br>${esc(c.attack)}</th>`).join("");
  const body = runs.map(
    (r) =>
      `<tr><td class="run">${esc(r.name)}</td>${cols
        .map((col) => {
          const c = cellOf(r, col);
          if (!c) return "<td>–</td>";
          const f = fmtInterval({ name: "reflection", iv: c.reflection, percent: true });
          const flips = c.flips
            ? `<span class="ci">flips ${c.flips.flips}/${c.flips.reflected} (→aligned ${c.flips.to_aligned})</span>`
            : "";
          return `<td>${f.value}<span class="ci">${f.ci}</span>${flips}</td>`;
        })
        .join("")}</tr>`,
  );
  return `<div class="wrap"><table class="reflection"><thead><tr><th class="run">run</th>${head}</tr></thead><tbody>${body.join("")}</tbody></table></div>`;
}

const clip = (s: string, n = 4000) => (s.length > n ? s.slice(0, n) + ` … [${s.length - n} more characters]` : s);

function exampleHtml(l: ResultLine): string {
  if (l.skipped !== undefined)
    return `<div class="ex"><span class="lbl">${esc(l.id)}: skipped (${esc(l.skipped)})</span></div>`;
  if (l.error !== undefined)
    return `<div class="ex"><span class="lbl">${esc(l.id)}: error (${esc(l.error)})</span></div>`;
  const s = l.samples[0];
  const g = s?.grade ? ` · grade <b>${esc(String(s.grade.label))}</b> (${esc(String(s.grade.score))})` : "";
  return (
    `<div class="ex"><div class="lbl">${esc(l.id)}${g}${s?.reflection.reflected ? " · reflected" : ""}</div>` +
    `<div class="lbl">prompt</div><pre>${esc(clip(l.prompt))}</pre>` +
    (s
      ? `<div class="lbl">completion (${s.cot_tokens} CoT + ${s.response_tokens} response tokens, ${esc(s.finish_reason)})</div><pre>${esc(clip(s.completion))}</pre>`
      : "") +
    "</div>"
  );
}

function drillDown(runs: RunData[], cols: Column[], perSuite: number): string {
  return [...new Set(cols.map((c) => c.suite))]
    .map((suite) => {
      const ids = exampleIds(runs, suite, perSuite);
      const attacks = cols
        .filter((c) => c.suite === suite)
        .map((col) => {
          const perRun = runs
            .map((r) => {
              const ex = examples(r, col, ids);
              return ex.length ? `<h4>${esc(r.name)}</h4>${ex.map(exampleHtml).join("")}` : "";
            })
            .join("");
          return `<details><summary>${esc(col.attack)}</summary>${perRun || '<p class="note">no examples (results.jsonl missing)</p>'}</details>`;
        });
      return `<h3>${esc(suite)}</h3>${attacks.join("")}`;
    })
    .join("");
}

/** The whole report as one HTML document. */
export function reportHtml(runs: RunData[], o: { title?: string; examplesPerSuite?: number } = {}): string {
  const cols = columns(runs);
  const title = o.title ?? "RECAP evaluation report";
  const runList = runs
    .map(
      (r) =>
        `<li><b>${esc(r.name)}</b>: ${esc(r.provider)} · grader ${esc(r.grader)} · <code>${esc(r.dir)}</code></li>`,
    )
    .join("");
  const section = (h: string, charts: string[], empty: string) =>
    `<h2>${h}</h2>${charts.length ? `<div class="charts">${charts.join("")}</div>` : `<p class="note">${empty}</p>`}`;
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body><h1>${esc(title)}</h1><ul>${runList}</ul>` +
    `<p class="note">Cells: the headline metric (safety % on harmful rows, helpfulness % on benign rows, pass@1 % on math rows) with its 95% interval. Wilson intervals for proportions (n = items; an item with several samples counts its mean); percentile bootstrap over items for means and pass@k (B = 1000, seeded).</p>` +
    `<h2>Comparison (Table 2 style)</h2>${comparisonTable(runs, cols)}` +
    section("Metrics by attack", metricBars(runs, cols), "no graded cells") +
    section("Iterative prefill reset (IPR) over k", iprCharts(runs), "no ipr:K attacks in these runs") +
    section("Token budget (CoT vs response)", tokenCharts(runs, cols), "no cells") +
    section(
      "Evaluation mixture J(β)",
      betaCharts(runs),
      "needs a clean attack and another attack on the same graded suite",
    ) +
    `<h2>Self-reflection</h2>${reflectionTable(runs, cols)}` +
    `<h2>Examples</h2>${drillDown(runs, cols, o.examplesPerSuite ?? 3)}</body></html>\n`
  );
}
