// The report of a real build, in Debian's Chromium: `tsbpf trace --json --html` records
// a `make -j4` of a small C project made here, `tsbpf report` draws it and exports it for
// Perfetto, and the page is driven like a user would: it loads without console errors,
// draws one bar per process of the NDJSON, shows a bar's argv on click, and renders an
// argv carrying HTML, "</script>" and U+2028 as text, with no dialog.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../helpers/cli.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";
import { launchChromium, until, watch } from "./browser.ts";
import { checkTraceEvents } from "./trace-event-check.ts";

const XSS = "<img src=x onerror=alert(1)>";
const BREAKOUT = "</script><script>alert(2)</script>\u2028x";

function makeProject(dir: string): void {
  for (let i = 1; i <= 6; i++) writeFileSync(join(dir, `f${i}.c`), `int f${i}(int x) { return x * ${i}; }\n`);
  writeFileSync(join(dir, "main.c"), "int f1(int);\nint main(void) { return f1(0); }\n");
  // Two extra recipes: one whose argv carries markup (run through sh so it is a real
  // exec with that argv), one that fails (make ignores it: '-').
  writeFileSync(
    join(dir, "Makefile"),
    [
      "OBJS = main.o f1.o f2.o f3.o f4.o f5.o f6.o",
      "all: app check",
      "app: $(OBJS)",
      "\tcc -o $@ $(OBJS)",
      "%.o: %.c",
      "\tcc -c -o $@ $<",
      "check: app",
      `\tsh -c 'exit 0' sh '${XSS}' '${BREAKOUT}'`,
      "\t-sh -c 'exit 3'",
      "",
    ].join("\n"),
  );
}

/** Processes in the NDJSON, counted without the report's code: every exec_id seen. */
function processesIn(ndjson: string): Set<string> {
  const ids = new Set<string>();
  for (const line of ndjson.split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.event === "lost") continue;
    if (e.event === "fork" && e.thread === false && e.child_exec_id) ids.add(e.child_exec_id);
    if (e.event === "fork" || e.event === "exec" || e.event === "exec_failed") ids.add(e.exec_id);
    if (e.event === "exit" && !e.thread) ids.add(e.exec_id);
  }
  return ids;
}

test("report of a real make -j4: bars, argv on click, no injection, Perfetto export", async () => {
  if (!privileged("report browser test") || !haveTool("make") || !haveTool("cc")) return;
  const tmp = mkdtempSync(join(tmpdir(), "tsbpf-report-"));
  const artifacts = join(ROOT_DIR, "test/artifacts");
  mkdirSync(artifacts, { recursive: true });
  const chrome = await launchChromium();
  try {
    const proj = join(tmp, "proj");
    mkdirSync(proj);
    makeProject(proj);
    const nd = join(tmp, "make.ndjson");
    const direct = join(tmp, "direct.html");
    const r = runCli(["trace", "--json", "-o", nd, "--html", direct, "--", "make", "-s", "-C", proj, "-j4"]);
    assert.is(r.status, 0, `trace failed: ${r.stderr}`);
    const ndjson = readFileSync(nd, "utf8");
    const procs = processesIn(ndjson);
    assert.ok(procs.size >= 20, `a build has many processes (${procs.size})`);

    const html = join(tmp, "make.html");
    const pf = join(tmp, "make.json");
    const rr = runCli(["report", nd, "-o", html, "--perfetto", pf]);
    assert.is(rr.status, 0, rr.stderr);
    const pdoc = checkTraceEvents(JSON.parse(readFileSync(pf, "utf8")));
    assert.is(pdoc.process.size, procs.size, "a Perfetto track per process");

    for (const [file, label] of [
      [html, "report"],
      [direct, "trace --html"],
    ] as const) {
      const page = await chrome.newPage({ width: 1400, height: 240 + procs.size * 18 });
      const problems = watch(page);
      await page.goto(`file://${file}`);
      await until(page, "window.tsbpfReport && window.tsbpfReport.firstPaintMs > 0");
      await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
      const count = await page.evaluate("window.tsbpfReport.processCount");
      const bars = (await page.evaluate("window.tsbpfReport.drawnBars()")) as {
        proc: number;
        x: number;
        y: number;
        w: number;
        h: number;
      }[];
      assert.is(count, procs.size, `${label}: processes in the page = exec_ids in the NDJSON`);
      assert.is(bars.length, procs.size, `${label}: one bar drawn per process`);
      assert.is(new Set(bars.map((b) => b.proc)).size, procs.size, `${label}: distinct bars`);
      const argvs = (await page.evaluate(
        "Array.from({ length: window.tsbpfReport.processCount }, (_, i) => window.tsbpfReport.argv(i))",
      )) as string[][];
      const box = await page.locator("#rows").boundingBox();
      assert.ok(box);
      const click = async (proc: number) => {
        const b = bars.find((x) => x.proc === proc);
        assert.ok(b, `bar of process ${proc} drawn`);
        await page.mouse.click(box!.x + b!.x + Math.max(b!.w / 2, 1), box!.y + b!.y + b!.h / 2);
        return (await page.locator("#detail-argv").innerText()).split("\n");
      };
      // A compiler's bar shows its argv.
      const cc = argvs.findIndex((a) => a[0] === "cc" && a.includes("-c") && a.includes("f3.c"));
      assert.ok(cc >= 0, "a cc -c f3.c process");
      assert.equal(await click(cc), argvs[cc]);
      // The hostile argv: shown as text, nothing injected, no dialog.
      const evil = argvs.findIndex((a) => a.includes(XSS));
      assert.ok(evil >= 0, "the process with markup in argv is in the report");
      const shown = await click(evil);
      assert.ok(shown.includes(XSS), `argv shown as text: ${JSON.stringify(shown)}`);
      assert.ok(shown.includes("</script><script>alert(2)</script>\\u{2028}x"), "U+2028 shown escaped");
      assert.is(await page.locator("#details img, img").count(), 0, "no <img> element was created");
      assert.is(await page.locator("script").count(), 2, "no script element was added");
      // Search highlights it.
      await page.fill("#search", "onerror");
      await until(page, "document.getElementById('search-info').textContent === '1 match'");
      // The failing recipe is listed as failed; the critical path starts at make.
      assert.match(await page.locator("#failed").innerText(), /sh \d+\s+exit 3/);
      assert.match(await page.locator("#critical-path li").first().innerText(), /^make \d+/);
      await page.waitForTimeout(300);
      assert.equal(problems.dialogs, [], `${label}: no dialog fired`);
      assert.equal(problems.errors, [], `${label}: no console errors`);
      assert.equal(problems.requests, [], `${label}: no network requests`);
      await page.screenshot({ path: join(artifacts, `report-make-${label.replace(/\W+/g, "-")}.png`) });
      await page.close();
    }
  } finally {
    await chrome.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
