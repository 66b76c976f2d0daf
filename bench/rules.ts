// bench:rules — per-event cost of rule evaluation (built-in rules plus a user rule
// set), typical and worst case. The peer, in the same run, is the same rule set
// compiled to V8 RegExp (a backtracking engine, what the rules used before): on typical
// command lines, and on the adversarial inputs only at sizes where it still finishes
// (its time doubles per extra character on `(a+)+$`, so 32 KB would never end).
//   npm run bench:rules            (appends to bench/RESULTS.md)
//   npm run bench:rules -- --quick (not recorded)
import { loadavg } from "node:os";
import type { ExecEvent } from "../src/tracker/events.ts";
import { ProcessTable } from "../src/tracker/process-table.ts";
import { BUILTIN_RULES, evaluate, type Rule } from "../src/tracker/rules.ts";
import { parseRules } from "../src/tracker/rules-file.ts";
import { appendResult, median, table } from "./lib.ts";

const quick = process.argv.includes("--quick");
const REPS = quick ? 3 : 9;

const USER = {
  rules: [
    { id: "bt", severity: "low", match: { args_regex: "(a+)+$" } },
    { id: "wget", severity: "high", match: { args: "*wget*http*:*/tmp/*" } },
    { id: "curl", severity: "medium", match: { path: "*/curl", args: "/-[a-z]*o\\s+\\S+/" } },
    { id: "cron", severity: "low", match: { parent: "cron*", path_regex: "^/(tmp|dev/shm)/" } },
  ],
};
const ours: Rule[] = [...BUILTIN_RULES, ...parseRules(JSON.stringify(USER), "bench.json")];

/** The same user rules on V8's RegExp, globs translated as the old glob.ts did. */
function v8Rules(): Rule[] {
  const glob = (g: string, path: boolean) => {
    let re = "";
    for (let i = 0; i < g.length; i++) {
      if (g[i] === "*") re += path ? "[^/]*" : "[\\s\\S]*";
      else re += g[i].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
    return new RegExp(`^${re}$`, "u");
  };
  const user: [string, (ev: ExecEvent) => boolean][] = [
    ["bt", (ev) => /(a+)+$/u.test(ev.argv.slice(1).join(" "))],
    ["wget", (ev) => glob("*wget*http*:*/tmp/*", false).test(ev.argv.slice(1).join(" "))],
    ["curl", (ev) => /\/curl$/u.test(ev.filename) && /-[a-z]*o\s+\S+/u.test(ev.argv.slice(1).join(" "))],
    ["cron", (ev) => /^\/(tmp|dev\/shm)\//u.test(ev.filename)],
  ];
  return [
    ...BUILTIN_RULES.filter((r) => r.id !== "reverse_shell"),
    ...user.map(([id, f]) => ({
      id,
      severity: "low" as const,
      description: id,
      check: (ev: ExecEvent) => (f(ev) ? id : null),
    })),
  ];
}

const ev = (argv: string[]): ExecEvent => ({
  event: "exec",
  time: "t",
  pid: 10,
  tid: 10,
  ppid: 1,
  uid: 0,
  gid: 0,
  comm: "x",
  exec_id: "10-1",
  parent_exec_id: "1-1",
  filename: argv[0],
  argv,
  argc: argv.length,
  argv_truncated: false,
});

/** Median µs per evaluate() over n events, REPS times. */
function perEvent(rules: Rule[], e: ExecEvent, n: number): number {
  const table = new ProcessTable();
  table.apply(e);
  const runs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) evaluate(e, { table }, rules);
    runs.push(((performance.now() - t0) * 1000) / n);
  }
  return median(runs);
}

const typical = ev(["/usr/bin/gcc", "-O2", "-Wall", "-c", "src/main.c", "-o", "build/main.o", "-Iinclude"]);
const adversarial: [string, ExecEvent][] = [
  ["(a+)+$ on 'a'×32767+'!'", ev(["/usr/bin/x", `${"a".repeat(32767)}!`])],
  ["*wget*http*:*/tmp/* on 32 KB", ev(["/usr/bin/wget", "wget http:/".repeat(2978)])],
  ["reverse_shell: sh -c 'nc nc …' 32 KB", ev(["/bin/sh", "-c", "nc ".repeat(10922)])],
  [
    "random a/b 32 KB",
    ev(["/usr/bin/x", Array.from({ length: 32768 }, (_, i) => ((i * 7919) % 3 ? "a" : "b")).join("")]),
  ],
];

const ourTypical = perEvent(ours, typical, 2000);
const v8 = v8Rules();
const v8Typical = perEvent(v8, typical, 2000);
const rows: (string | number)[][] = [
  ["typical gcc command line", ourTypical.toFixed(1), v8Typical.toFixed(1)],
];
let worst = 0;
for (const [name, e] of adversarial) {
  const us = perEvent(ours, e, 3);
  worst = Math.max(worst, us);
  rows.push([name, us.toFixed(0), name.startsWith("(a+)+$") ? "(never ends: exponential)" : "not run"]);
}
// The peer's growth on (a+)+$ at sizes where it still ends.
for (const n of [18, 20, 22]) {
  const e = ev(["/usr/bin/x", `${"a".repeat(n)}!`]);
  rows.push([`(a+)+$ on 'a'×${n}+'!'`, perEvent(ours, e, 20).toFixed(1), perEvent(v8, e, 1).toFixed(0)]);
}
const body = [
  `load average ${loadavg()[0].toFixed(2)}; ${REPS} repetitions, median µs per exec event (all rules)`,
  "",
  table(["input", "tsbpf (linear engine) µs", "V8 RegExp µs"], rows),
  "",
  `worst case per event: ${(worst / 1000).toFixed(1)} ms (32 KB argv, every rule)`,
].join("\n");
console.log(body);
if (!quick) appendResult("Rule evaluation per exec event (bench/rules.ts)", "npm run bench:rules", body);
console.log(
  `typical event: tsbpf ${ourTypical.toFixed(1)} µs, V8 RegExp ${v8Typical.toFixed(1)} µs, ratio=${(ourTypical / v8Typical).toFixed(2)}`,
);
