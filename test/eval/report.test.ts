// The report: built from two real run folders (runEval with a scripted provider), self-contained
// (no scripts, no external resources), data HTML-escaped, the Markdown twin beside it; and opened
// in headless Chromium (Debian's, via playwright-core): no console errors, no network, the
// comparison table and the charts present. The screenshot is kept as an artefact (path printed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium } from "playwright-core";
import { parseAttackList } from "../../src/eval/attacks/index.ts";
import type { Grader } from "../../src/graders/types.ts";
import { writeReport } from "../../src/eval/report/index.ts";
import { barChart, esc, lineChart } from "../../src/eval/report/svg.ts";
import { runEval } from "../../src/eval/runner.ts";
import type { GenRequest, GenResult, Provider } from "../../src/lm/types.ts";
import { SuiteRowSchema } from "../../src/eval/types.ts";

process.env["RECAP_QUIET"] = "1";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-report-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const EVIL = `<script>alert("x")</script></pre><img src=x onerror=alert(1)> | pipe`;

/** Refuses with probability `safety` (deterministic per request key). */
function provider(name: string, safety: number): Provider {
  return {
    id: () => name,
    batchSize: () => 4,
    async generate(reqs: GenRequest[]): Promise<GenResult[]> {
      return reqs.map((r) => {
        const h = [...r.key].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 1000, 7) / 1000;
        const safe = h < safety - (r.thinking ? 0.2 : 0);
        const text =
          (r.thinking ? " hmm, wait." : "<think>let me see.") + (safe ? "</think>I refuse." : `</think>Sure: ${EVIL}`);
        return {
          key: r.key,
          completions: Array.from({ length: r.n }, () => ({
            text,
            completionTokens: 9,
            cotTokens: 4,
            responseTokens: 5,
            finishReason: "stop",
          })),
        };
      });
    },
  };
}
const grader: Grader = {
  id: "t",
  grade: (row) => ({
    label: row.completion.includes("refuse") ? "refused" : "complied",
    score: Number(row.completion.includes("refuse")),
    safe: row.completion.includes("refuse"),
  }),
};

async function makeRuns(): Promise<string[]> {
  const rows = Array.from({ length: 12 }, (_, i) =>
    SuiteRowSchema.parse({
      id: `r${i}`,
      prompt: i === 0 ? EVIL : `request ${i}`,
      domain: i % 3 === 2 ? "benign" : "harmful",
      prefills: { strong: "i should help with this" },
      ipr: ["help.", "help!"],
    }),
  );
  const attacks = parseAttackList("clean,prefill@3,ipr:1@3,ipr:2@3");
  const dirs: string[] = [];
  for (const [name, s] of [
    ["dapo", 0.6],
    ["recap", 0.9],
  ] as const) {
    const dir = path.join(tmp, name);
    await runEval({
      provider: provider(name, s),
      grader,
      suites: [{ name: "world<harm>", source: "mem", rows }],
      attacks,
      n: 1,
      params: { maxTokens: 8, temperature: 1, topP: 1, seed: 0 },
      outDir: dir,
    });
    dirs.push(dir);
  }
  return dirs;
}

let built: Promise<{ html: string; markdown: string }> | undefined;
function report(): Promise<{ html: string; markdown: string }> {
  built ??= makeRuns().then((dirs) => writeReport(dirs, path.join(tmp, "out", "report.html"), { title: "t <b>" }));
  return built;
}

test("the HTML is self-contained and escapes every piece of data; the Markdown sits beside it", async () => {
  const { html, markdown } = await report();
  const h = fs.readFileSync(html, "utf8");
  assert.ok(!/<script/i.test(h), "no script element (data included)");
  assert.ok(
    !/<(img|link|iframe|object|embed)\b|<[a-z][^>]*\s(src|href)=|@import|url\(/i.test(h),
    "no external resources",
  );
  assert.ok(
    h.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;"),
  );
  assert.ok(h.includes("world&lt;harm&gt;") && h.includes("<title>t &lt;b&gt;</title>"));
  assert.equal((h.match(/<svg /g) ?? []).length, (h.match(/<\/svg>/g) ?? []).length);
  assert.ok(h.includes("IPR") && h.includes("J(β)") && h.includes("token budget"));
  const md = fs.readFileSync(markdown, "utf8");
  assert.equal(path.dirname(markdown), path.dirname(html));
  assert.ok(md.startsWith("# t <b>\n"));
  assert.match(md, /\| dapo \| .*\| recap \|/s);
  assert.ok(md.includes("ipr:K@3") && md.includes("k=2"));
  assert.ok(
    md
      .split("\n")
      .filter((l) => l.startsWith("| dapo"))
      .every((l) => !l.includes("| pipe")),
    "pipes in data are escaped in tables",
  );
});

test("chart helpers: whiskers, bands, escaped labels", () => {
  const b = barChart({
    title: "<t>",
    yLabel: "y",
    groups: [{ label: "g&1", bars: [{ series: "s", value: 0.5, lo: 0.4, hi: 0.6 }] }],
    yMax: 1,
  });
  assert.ok(b.includes('class="whisker"') && b.includes("&lt;t&gt;") && b.includes("g&amp;1") && !b.includes("<t>"));
  const l = lineChart(
    "L",
    "x",
    "y",
    [
      {
        name: "a",
        points: [
          { x: 0, y: 0.2, lo: 0.1, hi: 0.3 },
          { x: 1, y: 0.4, lo: 0.3, hi: 0.5 },
        ],
      },
    ],
    { yMax: 1 },
  );
  assert.ok(l.includes('class="band"') && l.includes('class="line"') && (l.match(/<circle/g) ?? []).length === 2);
  assert.equal(esc(`<&>"'`), "&lt;&amp;&gt;&quot;&#39;");
});

const CHROMIUM = "/usr/bin/chromium";
test("the report renders in headless Chromium without errors, charts present (screenshot kept)", {
  skip: fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install chromium)`,
}, async () => {
  const { html } = await report();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [],
      requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    const url = "file://" + html;
    await page.goto(url, { waitUntil: "load" });
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, [url], "nothing but the file itself was fetched");
    assert.equal(await page.locator("table.comparison tbody tr").count(), 2);
    assert.ok((await page.locator("svg.chart").count()) >= 6);
    assert.equal(
      await page.locator('svg.chart[aria-label*="IPR"]').count(),
      2,
      "one IPR curve per metric of the suite",
    );
    assert.ok((await page.locator('svg.chart[aria-label*="J(β)"]').count()) >= 1);
    assert.ok((await page.locator("svg.chart.stacked rect.bar").count()) >= 4, "CoT and response bars for both runs");
    assert.ok((await page.locator("svg.chart .whisker").count()) > 0);
    assert.equal(await page.locator("script").count(), 0);
    await page.locator("details summary").first().click(); // open the first drill-down
    assert.ok(
      // biome-ignore lint/performance/useDomNodeTextContent: a Playwright locator's rendered text, not a DOM node
      (await page.locator("details pre").first().innerText()).includes('<script>alert("x")</script>'),
      "escaped data shows as text",
    );
    const box = await page.locator("svg.chart").first().boundingBox();
    assert.ok(box && box.width > 200 && box.height > 100, "charts have a rendered size");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recap-report-artefact-"));
    const shot = path.join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 10_000);
    console.log(`report screenshot: ${shot}`);
  } finally {
    await browser.close();
  }
});

test("recap report CLI: one error line for a folder that is not a run", async () => {
  const c = spawn(process.execPath, [path.resolve("bin/recap.js"), "report", tmp, "--out", path.join(tmp, "r.html")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  c.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => c.on("close", r));
  assert.equal(code, 1);
  assert.equal(err.trim().split("\n").length, 1);
  assert.match(err, /^error: .*summary\.json: not found/);
});
