// fentry, fexit, fmod_ret and lsm programs (BPF trampolines), each proven by events or
// by its effect: trampoline.bpf.o counts this process's getppid(2) calls (process.ppid)
// and setpriority(2) calls (os.setPriority -> security_task_setnice), and can make the
// latter fail with EPERM (fmod_ret) or EACCES (lsm). Where the kernel refuses
// trampolines (the development kernel: a Firecracker guest whose fentry loads fail with
// EPERM although its config has DYNAMIC_FTRACE_WITH_DIRECT_CALLS) the load must fail
// with the typed error; in the kernel matrix (TSBPF_KERNEL_MATRIX=1: Debian kernels,
// which have trampolines and BPF LSM) the programs must load, attach and act.
import { readFileSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { NotSupportedError } from "../../src/link/link.ts";
import { type Collection, loadCollection } from "../../src/loader/collection.ts";
import { UnsupportedProgramError } from "../../src/loader/errors.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/trampoline.bpf.o");
const N = 13;
const mustWork = process.env.TSBPF_KERNEL_MATRIX === "1";
const bpfLsmActive = (() => {
  try {
    return readFileSync("/sys/kernel/security/lsm", "utf8").split(",").includes("bpf");
  } catch {
    return false;
  }
})();

async function load(): Promise<Collection | undefined> {
  try {
    return await loadCollection(OBJ, { rodata: { target_tgid: process.pid } });
  } catch (e) {
    if (mustWork) throw e;
    assert.instance(e, UnsupportedProgramError);
    assert.match((e as Error).message, "need BPF trampolines, which this kernel lacks");
    return undefined;
  }
}

const count = (c: Collection, slot: number) => c.maps.counts?.lookup(slot) as bigint;
const bss = (c: Collection) => c.globals.bss as { fexit_ret: bigint; deny_fmod: number; deny_lsm: number };

function errCode(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    // os.setPriority throws ERR_SYSTEM_ERROR with the errno name in info.code.
    const err = e as NodeJS.ErrnoException & { info?: { code?: string } };
    return err.info?.code ?? err.code ?? String(e);
  }
}

test("fentry and fexit on __do_sys_getppid count each call; fexit sees the return value", async () => {
  if (!privileged("fentry/fexit")) return;
  const c = await load();
  if (!c) return;
  try {
    const links = [c.programs.fentry_getppid?.attach(), c.programs.fexit_getppid?.attach()];
    assert.equal(
      links.map((l) => l?.kind),
      ["fentry", "fexit"],
    );
    let ppid = 0;
    for (let i = 0; i < N; i++) ppid = process.ppid;
    for (const l of links) l?.close();
    assert.is(count(c, 0), BigInt(N));
    assert.is(count(c, 1), BigInt(N));
    assert.is(bss(c).fexit_ret, BigInt(ppid));
    void process.ppid;
    assert.is(count(c, 0), BigInt(N), "detached: not counted");
  } finally {
    c.close();
  }
});

test("fmod_ret on security_task_setnice makes setpriority fail with EPERM while asked to", async () => {
  if (!privileged("fmod_ret")) return;
  const c = await load();
  if (!c) return;
  const prio = getPriority();
  try {
    const link = c.programs.fmod_setnice?.attach();
    assert.is(link?.kind, "fmod_ret");
    assert.is(
      errCode(() => setPriority(prio)),
      undefined,
      "allowed while deny_fmod is 0",
    );
    bss(c).deny_fmod = 1;
    assert.is(
      errCode(() => setPriority(prio)),
      "EPERM",
    );
    bss(c).deny_fmod = 0;
    link?.close();
    assert.is(count(c, 2), 2n);
    bss(c).deny_fmod = 1;
    assert.is(
      errCode(() => setPriority(prio)),
      undefined,
      "detached: no effect",
    );
  } finally {
    c.close();
  }
});

test("lsm/task_setnice denies setpriority with EACCES while asked to", async () => {
  if (!privileged("lsm")) return;
  const c = await load();
  if (!c) return;
  const prio = getPriority();
  try {
    if (!bpfLsmActive && !mustWork) {
      // The hook loads but the kernel does not run BPF LSM programs: say so at attach.
      assert.throws(
        () => c.programs.lsm_setnice?.attach(),
        (e: Error) => e instanceof NotSupportedError || /lsm/i.test(e.message),
      );
      return;
    }
    const link = c.programs.lsm_setnice?.attach();
    assert.is(link?.kind, "lsm");
    assert.is(
      errCode(() => setPriority(prio)),
      undefined,
    );
    bss(c).deny_lsm = 1;
    assert.is(
      errCode(() => setPriority(prio)),
      "EACCES",
    );
    bss(c).deny_lsm = 0;
    link?.close();
    assert.is(count(c, 3), 2n);
  } finally {
    c.close();
  }
});

test.run();
