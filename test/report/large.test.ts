// 20,000 processes in Chromium: the page draws only what is in view, scrolls to the
// last row, and finds a match hidden in a collapsed subtree.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderHtml } from "../../src/report/html.ts";
import { buildTrace } from "../../src/report/model.ts";
import type { RawEvent } from "../../src/report/parse.ts";
import { launchChromium, until, watch } from "./browser.ts";
import { exec, exit, fork, proc } from "./events.ts";

const GROUPS = 5000; // make → 5000 × (cc → cc1, as, ld): 20,001 processes

function bigBuild(): RawEvent[] {
  const make = proc(2, 1, "make");
  const ev: RawEvent[] = [exec(0, make, ["make", "-j8"])];
  let pid = 10;
  for (let g = 0; g < GROUPS; g++) {
    const t = g * 200;
    const cc = proc(pid++, make.pid, "cc", make);
    ev.push(fork(t, make, cc), exec(t + 10, cc, ["cc", "-c", `file${g}.c`]));
    for (const [k, comm] of ["cc1", "as", "ld"].entries()) {
      const c = proc(pid++, cc.pid, comm, cc);
      ev.push(fork(t + 20 + k * 300, cc, c), exec(t + 30 + k * 300, c, [comm, `file${g}.c`]));
      ev.push(exit(t + 300 + k * 300, c, g === GROUPS - 1 && comm === "ld" ? 1 : 0));
    }
    ev.push(exit(t + 1200, cc));
  }
  const flagged = proc(10, make.pid, "cc", make); // the first cc
  ev.push(
    {
      ...exec(GROUPS * 100, flagged, []),
      event: "alert",
      rule: "reverse_shell",
      severity: "critical",
      reason: "test",
    },
    { event: "lost", time: exec(GROUPS * 150, make, []).time, pid: 0, count: 7, kind: "exec" },
  );
  ev.push(exit(GROUPS * 200 + 2000, make));
  return ev;
}

test("20,000 processes: virtualised rows, scroll to the end, search into collapsed subtrees", async () => {
  const trace = buildTrace(bigBuild());
  assert.is(trace.processes.length, GROUPS * 4 + 1);
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-report-large-"));
  const file = join(dir, "big.html");
  writeFileSync(file, renderHtml(trace, { source: "big.ndjson", generator: "test" }));
  const chrome = await launchChromium();
  try {
    const page = await chrome.newPage({ width: 1200, height: 700 });
    const problems = watch(page);
    await page.goto(`file://${file}`);
    await until(page, "window.tsbpfReport && window.tsbpfReport.firstPaintMs > 0", 120_000);
    // Over 2,000 processes the tree opens two levels deep: make and its cc children.
    assert.is(await page.evaluate("window.tsbpfReport.rowCount()"), GROUPS + 1);
    const visible = Math.ceil(700 / 18) + 1;
    const bars = (await page.evaluate("window.tsbpfReport.drawnBars()")) as { proc: number }[];
    assert.ok(bars.length > 10 && bars.length <= visible, `only the rows in view are drawn (${bars.length})`);
    // Alert and lost markers on the time axis; clicking the alert selects its process.
    const marks = (await page.evaluate("window.tsbpfReport.markers()")) as { x: number; kind: string }[];
    assert.equal(marks.map((m) => m.kind).sort(), ["alert", "lost"]);
    const axis = await page.locator("#axis").boundingBox();
    const alert = marks.find((m) => m.kind === "alert")!;
    await page.mouse.click(axis!.x + alert.x, axis!.y + axis!.height - 6);
    await until(page, "document.getElementById('detail-title') !== null");
    assert.match(await page.locator("#detail-title").innerText(), /^cc 10$/);
    assert.match(await page.locator("#alerts").innerText(), /critical: reverse_shell/);
    // Expand everything and jump to the bottom: the last process is drawn.
    await page.click("#expand-all");
    await until(page, `window.tsbpfReport.rowCount() === ${GROUPS * 4 + 1}`);
    await page.evaluate("document.getElementById('scroller').scrollTop = 1e9");
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
    const last = (await page.evaluate("window.tsbpfReport.drawnBars()")) as { proc: number }[];
    assert.ok(last.length <= visible, "still only the rows in view");
    const lastArgv = await page.evaluate(`window.tsbpfReport.argv(${last.at(-1)?.proc})`);
    assert.equal(lastArgv, ["ld", `file${GROUPS - 1}.c`]);
    // Collapse, then search for an ld deep inside: Enter opens its parent and selects it.
    await page.click("#collapse-all");
    await until(page, "window.tsbpfReport.rowCount() === 1");
    await page.fill("#search", "ld file4321.c");
    await page.press("#search", "Enter");
    await until(page, "document.getElementById('detail-title') !== null");
    assert.match(await page.locator("#detail-argv").innerText(), /^ld\nfile4321\.c$/);
    assert.is(await page.locator("#search-info").innerText(), "1 match");
    assert.is(
      await page.evaluate("window.tsbpfReport.rowCount()"),
      1 + GROUPS + 3,
      "make opened, one cc opened with its 3 children",
    );
    assert.equal(problems.errors, []);
    assert.equal(problems.dialogs, []);
  } finally {
    await chrome.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
