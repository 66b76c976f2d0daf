import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadAllowlist, loadRules, parseAllowlist } from "../../src/tracker/allowlist.ts";
import { RulesError } from "../../src/tracker/errors.ts";
import { compileGlob as globToRegExp } from "../../src/tracker/glob.ts";
import { parseJsonWithPositions, toPlain } from "../../src/tracker/json-pos.ts";
import { ProcessTable } from "../../src/tracker/process-table.ts";
import { evaluate } from "../../src/tracker/rules.ts";
import { parseRules } from "../../src/tracker/rules-file.ts";
import { exec, fork } from "./helpers.ts";

function rulesError(fn: () => unknown): RulesError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RulesError) return e;
    throw e;
  }
  throw new Error("expected a RulesError");
}

test("json-pos parses like JSON.parse", () => {
  const text = '{"a": [1, -2.5e3, true, null, "x\\u00e9\\n"], "b": {}}';
  assert.equal(toPlain(parseJsonWithPositions(text)), JSON.parse(text));
});

test("globs: *, **, ?, classes", () => {
  assert.ok(globToRegExp("/usr/bin/*").test("/usr/bin/ls"));
  assert.not.ok(globToRegExp("/usr/bin/*").test("/usr/bin/x/y"));
  assert.ok(globToRegExp("/usr/lib/**").test("/usr/lib/a/b/c"));
  assert.ok(globToRegExp("/opt/**/bin/x").test("/opt/bin/x"));
  assert.ok(globToRegExp("/bin/l?").test("/bin/ls"));
  assert.ok(globToRegExp("/bin/[a-c]at").test("/bin/cat"));
  assert.not.ok(globToRegExp("/bin/[!c]at").test("/bin/cat"));
  assert.ok(globToRegExp("*-i*", false).test("-c x/y -i"));
});

test("globs without a leading '/' match at any depth (docs/rules.md)", () => {
  assert.ok(globToRegExp("*/curl").test("/usr/bin/curl"));
  assert.ok(globToRegExp("curl").test("/usr/bin/curl"));
  assert.ok(globToRegExp("bin/cur?").test("/usr/bin/curl"));
  assert.not.ok(globToRegExp("curl").test("/usr/bin/xcurl"));
  assert.not.ok(globToRegExp("/curl").test("/usr/bin/curl"));
  assert.not.ok(globToRegExp("/usr/bin/[!x]").test("/usr/bin//"));
  assert.not.ok(globToRegExp("/usr/bin/[/a]x").test("/usr/bin//x"));
});

test("a top-level array gets an example of the right shape", () => {
  const e = rulesError(() => parseRules('[{"id": "x"}]', "r.json"));
  assert.match(e.message, /r\.json:1:1: .*found an array; wrap it: \{"rules": \[/);
});

test("regexes: linear engine; backreferences and lookaround refused with the column", () => {
  const slow = parseRules(
    '{"rules": [{"id": "bt", "severity": "low", "match": {"args_regex": "(a+)+$"}}]}',
    "r.json",
  );
  const t = new ProcessTable();
  const ev = exec(10, 1, ["x", `${"a".repeat(34)}!`]);
  t.apply(ev);
  const t0 = performance.now();
  assert.equal(evaluate(ev, { table: t }, slow), []);
  assert.ok(performance.now() - t0 < 1000);
  const e = rulesError(() =>
    parseRules('{"rules": [{"id": "x", "severity": "low", "match": {"args_regex": "(a)\\\\1"}}]}', "r.json"),
  );
  assert.match(e.message, /r\.json:1:\d+: .*backreferences/);
  const l = rulesError(() =>
    parseRules('{"rules": [{"id": "x", "severity": "low", "match": {"args": "/x(?=y)/"}}]}', "r.json"),
  );
  assert.match(l.message, /lookahead/);
});

const RULES = `{
  "rules": [
    {
      "id": "curl-pipe",
      "severity": "medium",
      "description": "curl run by a shell under cron",
      "match": { "path": "/usr/bin/curl", "args": "*http*", "parent": "sh", "ancestor": "cron*", "uid": [0, 1000] }
    },
    { "id": "re", "severity": "low", "match": { "path_regex": "^/opt/.*\\\\.sh$", "args": "/--force$/" } }
  ]
}`;

test("user rules: all conditions must match", () => {
  const rules = parseRules(RULES, "r.json");
  const t = new ProcessTable();
  t.apply(exec(10, 1, ["/usr/sbin/cron"]));
  t.apply(fork(10, 1, 11, { comm: "cron" }));
  t.apply(exec(11, 10, ["/bin/sh", "-c", "x"]));
  t.apply(fork(11, 10, 12, { comm: "sh" }));
  const ev = exec(12, 11, ["/usr/bin/curl", "-s", "http://x"]);
  t.apply(ev);
  const hits = evaluate(ev, { table: t }, rules);
  assert.equal(
    hits.map((a) => [a.rule, a.severity]),
    [["curl-pipe", "medium"]],
  );
  const other = exec(12, 11, ["/usr/bin/curl", "-s", "http://x"], { uid: 5 });
  assert.equal(evaluate(other, { table: t }, rules), []);
  const re = exec(13, 1, ["/opt/a/run.sh", "--force"]);
  t.apply(re);
  assert.equal(
    evaluate(re, { table: t }, rules).map((a) => a.rule),
    ["re"],
  );
});

test("user rules: syntax errors report line:column", () => {
  let e = rulesError(() => parseRules('{\n  "rules": [\n    { "id": "a", }\n  ]\n}', "r.json"));
  assert.is(e.message, "r.json:3:18: invalid JSON: expected a quoted key, found '}'");
  e = rulesError(() => parseRules('{"rules": [1 2]}', "r.json"));
  assert.is(e.message, "r.json:1:14: invalid JSON: expected ',' or ']' in array, found '2'");
  e = rulesError(() => parseRules('{"rules": "x', "r.json"));
  assert.is(e.message, "r.json:1:13: invalid JSON: unterminated string");
});

test("user rules: schema errors report line:column", () => {
  const cases: [string, string][] = [
    ['{"rule": []}', 'r.json:1:2: unknown key "rule" in the rules file (expected one of: rules)'],
    [
      '{"rules": [\n  {"id": "a", "severity": "urgent", "match": {"comm": "x"}}\n]}',
      'r.json:2:27: rule "a": severity must be one of low, medium, high, critical, found "urgent"',
    ],
    [
      '{"rules": [\n  {"id": "a", "severity": "low",\n   "match": {"path": "/x", "colour": 1}}\n]}',
      'r.json:3:28: unknown key "colour" in rule "a" "match" (expected one of: path, path_regex, args, args_regex, parent, ancestor, uid, comm)',
    ],
    [
      '{"rules": [{"id": "a", "severity": "low", "match": {"args_regex": "(unclosed"}}]}',
      'r.json:1:68: rule "a" match "args_regex": unterminated group. Rule regexes are matched in linear time (RE2 syntax; see docs/rules.md)',
    ],
    [
      '{"rules": [{"id": "a", "severity": "low", "match": {"uid": "0"}}]}',
      'r.json:1:60: rule "a" match "uid" must be a uid (integer 0..4294967295), found string',
    ],
    [
      '{"rules": [{"id": "a", "severity": "low", "match": {}}]}',
      'r.json:1:52: rule "a" "match" has no conditions (it would match every exec)',
    ],
    [
      '{"rules": [{"severity": "low", "match": {"uid": 0}}]}',
      'r.json:1:12: rule #1 is missing required key "id"',
    ],
    [
      '{"rules": [{"id": "a", "severity": "low", "match": {"uid": 0}}, {"id": "a", "severity": "low", "match": {"uid": 1}}]}',
      'r.json:1:72: duplicate rule id "a"',
    ],
  ];
  for (const [text, msg] of cases) assert.is(rulesError(() => parseRules(text, "r.json")).message, msg);
});

test("allowlist: JSON and text formats", () => {
  const a = parseAllowlist('{ "allow": ["/usr/bin/*", "/bin/ls", "/usr/lib/**"] }', "a.json");
  const ev = (filename: string, exe?: string) => exec(1, 0, [filename], exe ? { exe } : {});
  assert.ok(a.allowsExec(ev("/usr/bin/env")));
  assert.ok(a.allowsExec(ev("/bin/ls", "/usr/bin/ls")));
  assert.ok(a.allowsExec(ev("/usr/lib/x/y/z")));
  assert.not.ok(a.allowsExec(ev("/tmp/x")));
  assert.not.ok(a.allowsExec(ev("./ls")));
  const txt = parseAllowlist("# allowed\n/usr/bin/*\n\n  /opt/app/bin/server  \n", "allow.txt");
  assert.equal(txt.patterns, ["/usr/bin/*", "/opt/app/bin/server"]);
  const t = new ProcessTable();
  const bad = ev("/home/u/miner");
  t.apply(bad);
  const [alert] = evaluate(bad, { table: t }, [txt.rule()]);
  assert.is(alert.rule, "allowlist");
  assert.is(alert.reason, "/home/u/miner is not in the allowlist");
});

test("allowlist: the kernel's exe decides; /usr/.. spellings and scripts do not slip through", () => {
  const a = parseAllowlist("/usr/bin/*\n/usr/lib/**\n/opt/ok.sh\n", "allow.txt");
  const k = { exe_flags: [] as string[] };
  assert.not.ok(a.allowsExec(exec(1, 1, ["/usr/bin/../../tmp/x/evil"], { exe: "/tmp/x/evil", ...k })));
  assert.not.ok(a.allowsExec(exec(1, 1, ["/usr/lib/../../tmp/x"], { exe: "/tmp/x", ...k })));
  assert.ok(a.allowsExec(exec(1, 1, ["/tmp/link-to-ls"], { exe: "/usr/bin/ls", ...k })));
  // No kernel facts: the filename, normalized.
  assert.not.ok(a.allowsExec(exec(1, 1, ["/usr/bin/../../tmp/x/evil"])));
  assert.ok(a.allowsExec(exec(1, 1, ["/usr/bin/./ls"])));
  // A #! script: the interpreter and the script must both be listed.
  const script = (f: string) =>
    exec(1, 1, ["/bin/sh", f], { filename: f, interp: "/bin/sh", exe: "/usr/bin/dash", ...k });
  assert.ok(a.allowsExec(script("/opt/ok.sh")));
  assert.not.ok(a.allowsExec(script("/tmp/evil.sh")));
  assert.not.ok(a.allowsExec(script("./ok.sh")));
});

test("allowlist: the seed tutorial's {exact_paths, patterns} format", () => {
  const a = parseAllowlist('{"exact_paths": ["/bin/ls"], "patterns": ["/usr/bin/*"]}', "a.json");
  assert.equal(a.patterns, ["/bin/ls", "/usr/bin/*"]);
  assert.ok(a.allows("/usr/bin/env"));
  assert.not.ok(a.allows("/tmp/x"));
});

test("allowlist: errors with line:column", () => {
  assert.is(
    rulesError(() => parseAllowlist("/usr/bin/*\n  relative/path\n", "allow.txt")).message,
    'allow.txt:2:3: allowlist entry "relative/path" must be an absolute path or a glob starting with / or *',
  );
  assert.is(
    rulesError(() => parseAllowlist('{"allow": ["/bin/ls", 3]}', "a.json")).message,
    "a.json:1:23: allowlist entries must be strings, found number",
  );
  assert.is(
    rulesError(() => parseAllowlist('{"allow": ["/bin/[ab"]}', "a.json")).message,
    "a.json:1:12: unclosed '[' at offset 5 in glob \"/bin/[ab\"",
  );
  assert.is(
    rulesError(() => parseAllowlist('{"allow": [],\n "deny": []}', "a.json")).message,
    'a.json:2:2: unknown key "deny" in the allowlist (expected "allow", "exact_paths" or "patterns")',
  );
});

test("load from files; unreadable files are RulesError", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-rules-"));
  try {
    writeFileSync(join(dir, "r.json"), RULES);
    writeFileSync(join(dir, "allow"), '{"allow": ["/bin/*"]}');
    assert.is(loadRules(join(dir, "r.json")).length, 2);
    assert.ok(loadAllowlist(join(dir, "allow")).allows("/bin/sh"));
    const e = rulesError(() => loadRules(join(dir, "missing.json")));
    assert.match(e.message, /missing\.json: cannot read the file: no such file \(ENOENT\)$/);
    const d = rulesError(() => loadAllowlist(dir));
    assert.match(d.message, /: cannot read the file: it is a directory, expected a file \(EISDIR\)$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
