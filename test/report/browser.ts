// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the
// report page tests and the report benchmark. A fresh profile per launch, no network
// services of its own (no sync, updates, QUIC or background requests).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.TSBPF_CHROMIUM ?? "/usr/bin/chromium";

export interface OpenBrowser {
  context: BrowserContext;
  newPage(viewport: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<OpenBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "tsbpf-report-chromium-"));
  // playwright passes the profile as --user-data-dir itself (launchPersistentContext).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    newPage: async (viewport) => {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      return page;
    },
    close: async () => {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/** Console errors, page errors, failed requests and dialogs seen by a page. */
export interface PageProblems {
  errors: string[];
  dialogs: string[];
  requests: string[];
}

export function watch(page: Page): PageProblems {
  const p: PageProblems = { errors: [], dialogs: [], requests: [] };
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") p.errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => p.errors.push(`pageerror: ${e.message}`));
  page.on("dialog", (d) => {
    p.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) p.requests.push(r.url());
  });
  return p;
}

/**
 * Waits until `expr` is truthy in the page. page.waitForFunction evaluates its predicate
 * with eval() inside the page, which the report's Content-Security-Policy forbids (no
 * 'unsafe-eval'); page.evaluate runs from playwright's own world and is not affected.
 */
export async function until(page: Page, expr: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(expr)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${expr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
