// Every user-facing error path of the CLI, end to end: missing file, directory, empty
// file, non-ELF, truncated ELF, bad flags and bad flag values for each command, and the
// commands that need root run as nobody. Each must print one `tsbpf: ...` line that
// names what and where, exit 1 (runtime) or 2 (usage), with no stack trace.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AS_NOBODY, assertOneLineError, runCli } from "../helpers/cli.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";

const dir = mkdtempSync(join(tmpdir(), "tsbpf-cli-errors-"));
chmodSync(dir, 0o755); // readable by nobody for the unprivileged rows
const good = readFileSync(join(ROOT_DIR, "test/fixtures/attach.bpf.o"));
const shoff = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(40, true));
const F = {
  missing: join(dir, "missing.o"),
  dir: join(dir, "a-directory.o"),
  empty: join(dir, "empty.o"),
  text: join(dir, "text.o"),
  short: join(dir, "short.o"),
  headerOnly: join(dir, "header-only.o"),
  cutHeaders: join(dir, "cut-headers.o"),
  badJson: join(dir, "rules.json"),
  pin: join(dir, "pin"),
};
mkdirSync(F.dir);
writeFileSync(F.empty, "");
writeFileSync(F.text, "hello, this is a text file and not an object at all\n".repeat(4));
writeFileSync(F.short, "hi\n");
writeFileSync(F.headerOnly, good.subarray(0, 100));
writeFileSync(F.cutHeaders, good.subarray(0, shoff + 100));
writeFileSync(F.badJson, '{"rules": [');

const OBJ = "test/fixtures/attach.bpf.o";
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const at = (p: string) => esc(p);

type Row = [label: string, args: string[], status: 1 | 2, want: RegExp];

const fileRows = (cmd: string): Row[] => {
  const missing =
    cmd === "inspect"
      ? new RegExp(`inspect: cannot read ${at(F.missing)}: no such file$`)
      : new RegExp(`cannot read BPF object '${at(F.missing)}': no such file$`);
  const isDir =
    cmd === "inspect"
      ? new RegExp(`inspect: cannot read ${at(F.dir)}: is a directory, expected a file$`)
      : new RegExp(`cannot read BPF object '${at(F.dir)}': it is a directory$`);
  // inspect also accepts raw BTF, so its "wrong kind of file" message names both.
  const notObj = (p: string, head: string) =>
    cmd === "inspect"
      ? new RegExp(`${at(p)}: neither a BPF object nor raw BTF: starts with ${head}, expected 7f 45 4c 46`)
      : new RegExp(`${at(p)}: not an ELF file: bad magic at offset 0x0, expected 7f 45 4c 46`);
  const extra = cmd === "load" ? ["--no-attach"] : [];
  return [
    [`${cmd}: missing file`, [cmd, F.missing, ...extra], 1, missing],
    [`${cmd}: a directory`, [cmd, F.dir, ...extra], 1, isDir],
    [
      `${cmd}: empty file`,
      [cmd, F.empty, ...extra],
      1,
      cmd === "inspect"
        ? new RegExp(`${at(F.empty)}: neither a BPF object nor raw BTF: starts with \\(empty file\\)`)
        : new RegExp(`${at(F.empty)}: empty file, expected an ELF BPF object`),
    ],
    [`${cmd}: a text file`, [cmd, F.text, ...extra], 1, notObj(F.text, "68 65 6c 6c")],
    [`${cmd}: a 3-byte text file`, [cmd, F.short, ...extra], 1, notObj(F.short, "68 69 0a")],
    [
      `${cmd}: ELF cut inside the header area`,
      [cmd, F.headerOnly, ...extra],
      1,
      new RegExp(
        `${at(F.headerOnly)}: truncated: section header 0 at 0x[0-9a-f]+ needs 64 bytes but the file ends at 0x64$`,
      ),
    ],
    [
      `${cmd}: ELF cut inside the section header table`,
      [cmd, F.cutHeaders, ...extra],
      1,
      new RegExp(
        `${at(F.cutHeaders)}: truncated: section header table at 0x[0-9a-f]+ needs \\d+ bytes but the file ends at 0x[0-9a-f]+$`,
      ),
    ],
    [
      `${cmd}: unknown flag`,
      [cmd, "--bogus", OBJ],
      2,
      new RegExp(`^tsbpf: ${cmd}: unknown option '--bogus' \\(see 'tsbpf ${cmd} --help'\\)$`),
    ],
    [`${cmd}: no file`, [cmd], 2, new RegExp(`^tsbpf: ${cmd}: expected exactly one`)],
    [`${cmd}: two files`, [cmd, OBJ, OBJ], 2, new RegExp(`^tsbpf: ${cmd}: expected exactly one`)],
  ];
};

const ROWS: Row[] = [
  ["unknown command", ["frobnicate"], 2, /^tsbpf: unknown command 'frobnicate' \(see 'tsbpf --help'\)$/],
  ...fileRows("inspect"),
  ["inspect: boolean flag given a value", ["inspect", "--json=1", OBJ], 2, /inspect: --json takes no value/],
  ...fileRows("load"),
  ...fileRows("explain"),
  ["load: --pin without a value", ["load", OBJ, "--pin"], 2, /^tsbpf: load: --pin needs a value/],
  ["load: --pin ''", ["load", OBJ, "--pin", ""], 2, /^tsbpf: load: --pin needs a directory$/],
  [
    "load: --pin outside bpffs",
    ["load", OBJ, "--pin", F.pin, "--no-attach"],
    2,
    new RegExp(`^tsbpf: load: --pin ${at(F.pin)}: not inside a bpf file system; `),
  ],
  [
    "load: --btf missing",
    ["load", OBJ, "--btf", F.missing, "--no-attach"],
    1,
    new RegExp(`cannot read BTF file ${at(F.missing)}: no such file$`),
  ],
  [
    "load: --btf a directory",
    ["load", OBJ, "--btf", F.dir, "--no-attach"],
    1,
    new RegExp(`cannot read BTF file ${at(F.dir)}: it is a directory, expected a file$`),
  ],
  [
    "explain: --btf a text file",
    ["explain", OBJ, "--btf", F.text],
    1,
    new RegExp(`--btf ${at(F.text)}: neither raw BTF \\(magic 0xeb9f\\) nor an ELF object`),
  ],
  ["trace: unknown flag", ["trace", "--bogus"], 2, /^tsbpf: trace: unknown option '--bogus'/],
  ["trace: unknown short flag", ["trace", "-Z"], 2, /^tsbpf: trace: unknown option '-Z'/],
  [
    "trace: stray argument",
    ["trace", "extra"],
    2,
    /^tsbpf: trace: unexpected argument 'extra' \(to trace a command, put it after '--'\)$/,
  ],
  [
    "trace: --duration without a value",
    ["trace", "--duration"],
    2,
    /^tsbpf: trace: --duration needs a value/,
  ],
  [
    "trace: --duration abc",
    ["trace", "--duration", "abc"],
    2,
    /^tsbpf: trace: --duration expects a duration > 0: seconds, or a number with ms, s, m or h \(e.g. 500ms, 1s, 2m\), got 'abc'$/,
  ],
  [
    "trace: --duration -5",
    ["trace", "--duration", "-5"],
    2,
    /^tsbpf: trace: --duration needs a value; a value starting with '-' must be written --duration=VALUE/,
  ],
  [
    "trace: --duration=-5",
    ["trace", "--duration=-5"],
    2,
    /^tsbpf: trace: --duration expects a duration > 0: .*, got '-5'$/,
  ],
  [
    "trace: --ring-size 3",
    ["trace", "--ring-size", "3"],
    2,
    /^tsbpf: trace: --ring-size expects a power of two/,
  ],
  ["trace: --pid abc", ["trace", "--pid", "abc"], 2, /^tsbpf: trace: --pid expects a process id/],
  [
    "trace: --time xyz",
    ["trace", "--time", "xyz"],
    2,
    /^tsbpf: trace: --time expects abs or rel, got 'xyz'$/,
  ],
  ["trace: --uid x", ["trace", "--uid", "x"], 2, /^tsbpf: trace: --uid expects a numeric uid/],
  ["trace: --comm with a bad glob", ["trace", "--comm", "["], 2, /^tsbpf: trace: --comm \[: unclosed '\['/],
  ["trace: --json given a value", ["trace", "--json=yes"], 2, /^tsbpf: trace: --json takes no value/],
  [
    "trace: --cgroup missing",
    ["trace", "--cgroup", F.missing],
    2,
    /^tsbpf: trace: --cgroup .*missing\.o: no such cgroup/,
  ],
  [
    "trace: --rules missing",
    ["trace", "--rules", F.missing],
    1,
    new RegExp(`^tsbpf: ${at(F.missing)}: cannot read the file: no such file \\(ENOENT\\)$`),
  ],
  [
    "trace: --rules a directory",
    ["trace", "--rules", F.dir],
    1,
    new RegExp(
      `^tsbpf: ${at(F.dir)}: cannot read the file: it is a directory, expected a file \\(EISDIR\\)$`,
    ),
  ],
  [
    "trace: --rules empty",
    ["trace", "--rules", F.empty],
    1,
    new RegExp(`^tsbpf: ${at(F.empty)}:1:1: invalid JSON`),
  ],
  [
    "trace: --rules cut JSON",
    ["trace", "--rules", F.badJson],
    1,
    new RegExp(`^tsbpf: ${at(F.badJson)}:1:\\d+: invalid JSON`),
  ],
  [
    "trace: --allowlist a directory",
    ["trace", "--allowlist", F.dir],
    1,
    new RegExp(`^tsbpf: ${at(F.dir)}: cannot read the file: it is a directory`),
  ],
  ["tree: unknown flag", ["tree", "--bogus"], 2, /^tsbpf: tree: unknown option '--bogus'/],
  ["tree: stray argument", ["tree", "extra"], 2, /^tsbpf: tree: unexpected argument 'extra'/],
  ["tree: --pid abc", ["tree", "--pid", "abc"], 2, /^tsbpf: tree: --pid expects a process id, got 'abc'$/],
  [
    "tree: --pid of no process",
    ["tree", "--pid", "999999999"],
    1,
    /^tsbpf: tree: no process with pid 999999999/,
  ],
  ["tree: --pid without a value", ["tree", "--pid"], 2, /^tsbpf: tree: --pid needs a value/],
];

for (const [label, args, status, want] of ROWS) {
  test(label, () => {
    assertOneLineError(runCli(args), status, want, `tsbpf ${args.join(" ")}`);
  });
}

test("load --pin outside bpffs creates nothing there", () => {
  runCli(["load", OBJ, "--pin", join(F.pin, "deeper"), "--no-attach"]);
  assert.not.ok(existsSync(F.pin), "the refused --pin directory was created");
});

// Root-only commands as nobody: a privilege message, never EPERM from deep inside.
const NOBODY_ROWS: Row[] = [
  ["nobody: trace", ["trace", "--duration", "1"], 1, /^tsbpf: trace needs root, or CAP_BPF \+ CAP_PERFMON/],
  ["nobody: load", ["load", OBJ], 1, /operation not permitted: needs root, or CAP_BPF \+ CAP_PERFMON/],
  [
    "nobody: load --pin",
    ["load", OBJ, "--pin", "/sys/fs/bpf/tsbpf-never"],
    1,
    /operation not permitted: needs root, or CAP_BPF \+ CAP_PERFMON/,
  ],
  [
    "nobody: trace --rules unreadable",
    ["trace", "--rules", "/root/.tsbpf-no-such-dir/r.json"],
    1,
    /cannot read the file: permission denied \(EACCES\)$/,
  ],
];

for (const [label, args, status, want] of NOBODY_ROWS) {
  test(label, () => {
    if (!privileged("setpriv to nobody") || !haveTool("setpriv")) return;
    const r = runCli(args, { prefix: AS_NOBODY, env: { HOME: "/tmp" } });
    assertOneLineError(r, status, want, `nobody: tsbpf ${args.join(" ")}`);
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
