// execsnoop: one line per exec of this process's children, sent by a tp_btf program
// through a BPF ring buffer and decoded by the bindings `tsbpf gen` wrote
// (execsnoop.gen.ts). The program reads task_struct with CO-RE, so this runs on any
// kernel with BTF; pass `btf: "/path/to/vmlinux.btf"` to loadExecsnoop() to relocate
// against another kernel's BTF instead of /sys/kernel/btf/vmlinux.
//
// Run as root: node main.js
import { spawnSync } from "node:child_process";
import { RingBufReader } from "tsbpf";
import { decodeExecEvent, type ExecEvent, loadExecsnoop } from "./execsnoop.gen.js";

const objs = await loadExecsnoop({ rodata: { parent_tgid: process.pid } });
const reader = new RingBufReader(objs.maps.events);
try {
  objs.programs.on_exec.attach();
  console.log(`tracing the children of ${process.pid}`);

  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10_000);
  const wanted = new Set(["/bin/true", "/bin/echo"]);
  const seen: ExecEvent[] = [];
  const reading = (async () => {
    for await (const e of reader.records({ decode: decodeExecEvent, signal: ac.signal })) {
      console.log(`exec pid=${e.pid} ppid=${e.ppid} uid=${e.uid} comm=${e.comm} filename=${e.filename}`);
      seen.push(e);
      wanted.delete(e.filename);
      if (wanted.size === 0) ac.abort();
    }
  })();

  spawnSync("/bin/true");
  spawnSync("/bin/echo", ["hello"]);
  await reading;
  clearTimeout(timer);
  if (wanted.size > 0) throw new Error(`no exec event for ${[...wanted].join(", ")} within 10 s`);
  console.log(`${seen.length} execs, ${objs.globals.bss.dropped} dropped`);
} finally {
  reader.close();
  objs.close();
}
