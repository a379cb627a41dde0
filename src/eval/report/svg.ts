// Small SVG chart helpers rendered in Node (no DOM, no network): grouped bars with 95% interval
// whiskers, stacked bars, and lines with an interval band. Every text that comes from data is
// escaped. Values are plain numbers; NaN values are left out of the drawing.

export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#e15759",
  "#76b7b2",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** Escapes text for HTML and SVG (element content and attribute values). */
/** The charts' own style rules (used by the HTML report and by standalone SVG files). */
export const SVG_CSS =
  "svg .title{font-size:13px;font-weight:600}svg .tick,svg .legend{font-size:11px;fill:#444}svg .axis{font-size:11px;fill:#666}" +
  "svg .grid{stroke:#eee}svg .whisker{stroke:#222;stroke-width:1.2;fill:none}svg .line{fill:none;stroke-width:2}svg .band{opacity:.15;stroke:none}";

/** A chart as a file of its own: its style inside, a white background, system fonts. */
export function standaloneSvg(chart: string): string {
  const open = chart.indexOf(">") + 1;
  return (
    chart.slice(0, open) +
    `<style>svg{font-family:system-ui,sans-serif}${SVG_CSS}</style><rect width="100%" height="100%" fill="#fff"/>` +
    chart.slice(open) +
    "\n"
  );
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function num(x: number): string {
  return Number.isFinite(x) ? (Math.round(x * 100) / 100).toString() : "0";
}

export interface BarDatum {
  series: string;
  value: number;
  lo?: number;
  hi?: number;
}

export interface BarChart {
  title: string;
  yLabel: string;
  groups: { label: string; bars: BarDatum[] }[];
  /** Upper end of the y axis (default: the largest value or whisker, rounded up). */
  yMax?: number;
  /** Format of tick labels. */
  format?: (v: number) => string;
}

const W = 570,
  H = 300,
  M = { l: 56, r: 16, t: 34, b: 64 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v) ?? 10 * p;
}

function frame(title: string, yLabel: string, yMax: number, format: (v: number) => string, cls: string): string[] {
  const out = [`<text class="title" x="${W / 2}" y="18" text-anchor="middle">${esc(title)}</text>`];
  const ih = H - M.t - M.b;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4,
      y = M.t + ih - (ih * i) / 4;
    out.push(`<line class="grid" x1="${M.l}" x2="${W - M.r}" y1="${num(y)}" y2="${num(y)}"/>`);
    out.push(`<text class="tick" x="${M.l - 6}" y="${num(y + 4)}" text-anchor="end">${esc(format(v))}</text>`);
  }
  out.push(
    `<text class="axis" transform="translate(14 ${M.t + ih / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart ${cls}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
    ...out,
  ];
}

const LEGEND_ROW = 16;

/** Appends the legend (wrapped into rows that fit the width) and closes the chart; a legend of
 *  several rows makes the chart taller (its first element, the <svg> tag, is rewritten). */
function closeWithLegend(out: string[], names: string[], y: number): string[] {
  let x = M.l,
    row = 0;
  names.forEach((n, i) => {
    const w = 24 + Math.min(200, 7 * n.length);
    if (x > M.l && x + w - 10 > W - M.r) {
      x = M.l;
      row++;
    }
    const yy = y + row * LEGEND_ROW;
    out.push(
      `<rect x="${x}" y="${yy - 9}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`,
      `<text class="legend" x="${x + 14}" y="${yy}">${esc(n)}</text>`,
    );
    x += w;
  });
  if (row > 0) {
    const h = H + row * LEGEND_ROW;
    out[0] = out[0]!
      .replace(`viewBox="0 0 ${W} ${H}"`, `viewBox="0 0 ${W} ${h}"`)
      .replace(`height="${H}"`, `height="${h}"`);
  }
  out.push("</svg>");
  return out;
}

/** Grouped bars with whiskers for [lo, hi]. */
export function barChart(c: BarChart): string {
  const series = [...new Set(c.groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const tops = c.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.hi ?? b.value])).filter(Number.isFinite);
  const yMax = c.yMax ?? niceMax(Math.max(0, ...tops));
  const fmt = c.format ?? ((v: number) => num(v));
  const out = frame(c.title, c.yLabel, yMax, fmt, "bars");
  const iw = W - M.l - M.r,
    ih = H - M.t - M.b,
    gw = iw / Math.max(1, c.groups.length);
  const bw = Math.min(40, (gw * 0.8) / Math.max(1, series.length));
  const y = (v: number) => M.t + ih - (ih * Math.min(Math.max(v, 0), yMax)) / yMax;
  c.groups.forEach((g, gi) => {
    const x0 = M.l + gi * gw + (gw - bw * series.length) / 2;
    for (const b of g.bars) {
      const si = series.indexOf(b.series),
        x = x0 + si * bw;
      if (!Number.isFinite(b.value)) continue;
      out.push(
        `<rect class="bar" x="${num(x + 1)}" y="${num(y(b.value))}" width="${num(bw - 2)}" height="${num(y(0) - y(b.value))}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${b.series} · ${g.label}: ${fmt(b.value)}`)}</title></rect>`,
      );
      if (b.lo !== undefined && b.hi !== undefined && Number.isFinite(b.lo) && Number.isFinite(b.hi)) {
        const cx = num(x + bw / 2);
        out.push(
          `<path class="whisker" d="M${cx} ${num(y(b.lo))}V${num(y(b.hi))}M${num(x + bw / 2 - 4)} ${num(y(b.lo))}h8M${num(x + bw / 2 - 4)} ${num(y(b.hi))}h8"/>`,
        );
      }
    }
    out.push(
      `<text class="tick" x="${num(M.l + gi * gw + gw / 2)}" y="${H - M.b + 16}" text-anchor="middle">${esc(g.label.length > 28 ? g.label.slice(0, 27) + "…" : g.label)}</text>`,
    );
  });
  closeWithLegend(out, series, H - 14);
  return out.join("");
}

export interface StackedBar {
  label: string;
  parts: { name: string; value: number }[];
  /** Interval of the stack's total, drawn as a whisker. */
  total?: { lo: number; hi: number };
}

/** Stacked bars (e.g. CoT + response tokens), one per label. */
export function stackedBars(title: string, yLabel: string, bars: StackedBar[]): string {
  const names = [...new Set(bars.flatMap((b) => b.parts.map((p) => p.name)))];
  const sums = bars.map((b) =>
    Math.max(
      b.parts.reduce((a, p) => a + (Number.isFinite(p.value) ? p.value : 0), 0),
      b.total?.hi ?? 0,
    ),
  );
  const yMax = niceMax(Math.max(0, ...sums));
  const out = frame(title, yLabel, yMax, (v) => num(v), "stacked");
  const iw = W - M.l - M.r,
    ih = H - M.t - M.b,
    gw = iw / Math.max(1, bars.length),
    bw = Math.min(48, gw * 0.6);
  const y = (v: number) => M.t + ih - (ih * Math.min(Math.max(v, 0), yMax)) / yMax;
  bars.forEach((b, i) => {
    const x = M.l + i * gw + (gw - bw) / 2;
    let acc = 0;
    for (const p of b.parts) {
      if (!Number.isFinite(p.value)) continue;
      const ni = names.indexOf(p.name);
      out.push(
        `<rect class="bar" x="${num(x)}" y="${num(y(acc + p.value))}" width="${num(bw)}" height="${num(y(acc) - y(acc + p.value))}" fill="${PALETTE[ni % PALETTE.length]}"><title>${esc(`${b.label} · ${p.name}: ${num(p.value)}`)}</title></rect>`,
      );
      acc += p.value;
    }
    if (b.total && Number.isFinite(b.total.lo) && Number.isFinite(b.total.hi))
      out.push(`<path class="whisker" d="M${num(x + bw / 2)} ${num(y(b.total.lo))}V${num(y(b.total.hi))}"/>`);
    out.push(
      `<text class="tick" x="${num(x + bw / 2)}" y="${H - M.b + 16}" text-anchor="middle">${esc(b.label.length > 22 ? b.label.slice(0, 21) + "…" : b.label)}</text>`,
    );
  });
  closeWithLegend(out, names, H - 14);
  return out.join("");
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number; lo?: number; hi?: number }[];
}

/** Lines over a numeric x axis with a shaded [lo, hi] band and point markers. */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: LineSeries[],
  o: { yMax?: number; format?: (v: number) => string } = {},
): string {
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const xs = pts.map((p) => p.x),
    x0 = Math.min(...xs, 0),
    x1 = Math.max(...xs, 1);
  const yMax = o.yMax ?? niceMax(Math.max(0, ...pts.map((p) => (Number.isFinite(p.hi ?? NaN) ? p.hi! : p.y))));
  const fmt = o.format ?? ((v: number) => num(v));
  const out = frame(title, yLabel, yMax, fmt, "lines");
  const iw = W - M.l - M.r,
    ih = H - M.t - M.b;
  const X = (x: number) => M.l + (iw * (x - x0)) / (x1 - x0 || 1);
  const Y = (v: number) => M.t + ih - (ih * Math.min(Math.max(v, 0), yMax)) / yMax;
  // At most about 12 x ticks (every k-th value, the last always): 40 RL steps would overlap.
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  const every = Math.ceil(ticks.length / 12);
  for (const [i, x] of ticks.entries())
    if (i % every === 0 || i === ticks.length - 1)
      out.push(`<text class="tick" x="${num(X(x))}" y="${H - M.b + 16}" text-anchor="middle">${esc(num(x))}</text>`);
  out.push(`<text class="axis" x="${M.l + iw / 2}" y="${H - M.b + 34}" text-anchor="middle">${esc(xLabel)}</text>`);
  series.forEach((s, si) => {
    const color = PALETTE[si % PALETTE.length]!;
    const p = s.points.filter((q) => Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
    const band = p.filter((q) => Number.isFinite(q.lo ?? NaN) && Number.isFinite(q.hi ?? NaN));
    if (band.length > 1) {
      const d =
        band.map((q, i) => `${i ? "L" : "M"}${num(X(q.x))} ${num(Y(q.hi!))}`).join("") +
        [...band]
          .reverse()
          .map((q) => `L${num(X(q.x))} ${num(Y(q.lo!))}`)
          .join("") +
        "Z";
      out.push(`<path class="band" d="${d}" fill="${color}"/>`);
    }
    if (p.length > 1)
      out.push(
        `<path class="line" d="${p.map((q, i) => `${i ? "L" : "M"}${num(X(q.x))} ${num(Y(q.y))}`).join("")}" stroke="${color}"/>`,
      );
    for (const q of p)
      out.push(
        `<circle class="point" cx="${num(X(q.x))}" cy="${num(Y(q.y))}" r="3.5" fill="${color}"><title>${esc(`${s.name} · ${num(q.x)}: ${fmt(q.y)}`)}</title></circle>`,
      );
  });
  closeWithLegend(
    out,
    series.map((s) => s.name),
    H - 8,
  );
  return out.join("");
}
