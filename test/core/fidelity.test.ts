// CO-RE cases where tsbpf once differed from libbpf (issue 16 §3), each reproduced by an
// object of our own: bpf_core_type_matches() with typedef'd members, _Bool kconfig
// externs filled with numbers, a SEC() name no program type matches, and messages
// under a target BTF override. test/core/oracle.test.ts also loads core_fidelity.bpf.o
// with libbpf and compares the xlated code.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Btf } from "../../src/btf/btf.ts";
import { ExternError } from "../../src/core/errors.ts";
import { setKconfigValue } from "../../src/core/kconfig.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { loadCollection } from "../../src/loader/collection.ts";
import { UnsupportedProgramError } from "../../src/loader/errors.ts";
import { assertOneLineError, runCli } from "../helpers/cli.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const fx = (n: string) => join(ROOT_DIR, "test/fixtures", n);

test("type_matches skips typedefs in members (int pid vs pid_t pid); _Bool kconfig externs take 0/1", async () => {
  if (!privileged("core_fidelity.bpf.o")) return;
  const c = await loadCollection(fx("core_fidelity.bpf.o"), { coreCache: false });
  try {
    c.programs.fidelity?.testRun();
    const bss = c.globals.data as Record<string, number>;
    assert.is(bss.matches_plain, 1, "struct { int pid; int tgid; } matches task_struct (pid_t members)");
    assert.is(bss.matches_wrong, 0, "struct { long pid; } does not");
    assert.is(bss.has_cookie, 1, "LINUX_HAS_BPF_COOKIE (numeric 1) in a _Bool extern");
    assert.is(bss.has_bpf_syscall, 1, "CONFIG_BPF_SYSCALL=y in a _Bool extern");
  } finally {
    c.close();
  }
});

test("a _Bool kconfig extern refuses numbers other than 0 and 1", () => {
  const spec = readCollectionSpec(readFileSync(fx("core_fidelity.bpf.o")), "core_fidelity.bpf.o");
  const ext = spec.externs.find((e) => e.name === "LINUX_HAS_BPF_COOKIE");
  assert.ok(ext);
  const buf = new Uint8Array(new ArrayBuffer(16));
  setKconfigValue(spec.btf as Btf, ext as NonNullable<typeof ext>, "1", buf, "test");
  assert.is(buf[(ext as NonNullable<typeof ext>).offset], 1);
  setKconfigValue(spec.btf as Btf, ext as NonNullable<typeof ext>, "0", buf, "test");
  assert.is(buf[(ext as NonNullable<typeof ext>).offset], 0);
  assert.throws(
    () => setKconfigValue(spec.btf as Btf, ext as NonNullable<typeof ext>, "2", buf, "test"),
    (e: Error) => e instanceof ExternError && e.message.includes("does not fit a bool extern (0 or 1)"),
  );
});

test('SEC("socket/name") is refused before anything is created, naming the section', async () => {
  let err: unknown;
  try {
    (await loadCollection(fx("unknown_sec.bpf.o"))).close();
  } catch (e) {
    err = e;
  }
  assert.instance(err, UnsupportedProgramError);
  const msg = (err as Error).message;
  assert.match(msg, `program 'filter_named' in SEC("socket/name")`);
  assert.match(msg, "the section name gives no program type");
  if (!privileged("unknown section, CLI")) return;
  // No map of the object was created: the refusal comes before BPF_MAP_CREATE.
  const maps = spawnSync("bpftool", ["map", "show", "name", "hits"], { encoding: "utf8" });
  assert.not.match(maps.stdout, /\bhits\b/);
  assertOneLineError(
    runCli(["load", "test/fixtures/unknown_sec.bpf.o"]),
    1,
    /SEC\("socket\/name"\).*no program type/,
    "load unknown_sec.bpf.o",
  );
});

test("with a target BTF override, messages name that file, not the kernel's BTF", async () => {
  if (!privileged("--btf messages")) return;
  const target = fx("globals.bpf.o");
  for (const [obj, want] of [
    ["core_layout.bpf.o", /task_struct___tsl::pid not found in target BTF .*globals\.bpf\.o \(\.BTF\)/],
    // Its kfuncs resolve in the running kernel's BTF whatever the target (the ids go to the
    // kernel: test/loader/ksym-kernel-ids.test.ts); its CO-RE reads fail against the target.
    ["core.bpf.o", /task_struct::tgid not found in target BTF .*globals\.bpf\.o \(\.BTF\)/],
  ] as const) {
    let err: unknown;
    try {
      (await loadCollection(fx(obj), { btf: target, coreCache: false })).close();
    } catch (e) {
      err = e;
    }
    assert.ok(err, `${obj} must fail against ${target}`);
    assert.match((err as Error).message, want);
    assert.not.match((err as Error).message, "kernel BTF");
  }
});

test.run();
