#!/usr/bin/env node
// Runs every test/**/*.test.ts file in its own process (kernel objects and fds stay
// isolated per file), then prints the totals as "N passed, N failed".
// Usage: node scripts/run-tests.mjs [filter...]   (filters match file paths)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const files = walk(join(root, "test")).filter(
  (f) => filters.length === 0 || filters.some((x) => f.includes(x)),
);
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const timeoutMs = Number(process.env.TSBPF_TEST_TIMEOUT_MS ?? 15 * 60 * 1000);

for (const file of files) {
  const rel = relative(root, file);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", file], {
    cwd: root,
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = strip((r.stdout ?? "") + (r.stderr ?? ""));
  const num = (label) => {
    const m = out.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, "m"));
    return m ? Number(m[1]) : undefined;
  };
  const total = num("Total");
  const ok = num("Passed");
  const skip = num("Skipped") ?? 0;
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (total === undefined || ok === undefined) {
    failed += 1;
    failures.push(rel);
    const why = r.error ? String(r.error.message) : `exit ${r.status ?? r.signal}`;
    console.log(`✘ ${rel}: no uvu summary (${why}) [${secs}s]\n${out.split("\n").slice(-40).join("\n")}`);
    continue;
  }
  const bad = total - ok - skip + (r.status !== 0 && ok === total - skip ? 1 : 0);
  passed += ok;
  failed += bad;
  skipped += skip;
  if (bad > 0) {
    failures.push(rel);
    console.log(`✘ ${rel}: ${ok}/${total} passed [${secs}s]\n${out}`);
  } else {
    console.log(`✔ ${rel}: ${ok} passed${skip ? `, ${skip} skipped` : ""} [${secs}s]`);
  }
}

if (failures.length) console.log(`\nFailing files:\n  ${failures.join("\n  ")}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
