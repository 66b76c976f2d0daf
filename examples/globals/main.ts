// globals: a program's global variables, typed by tsbpf gen (globals.gen.ts).
//   .rodata target_tgid is set before load (the verifier sees a constant);
//   .data enabled is switched from here while the program runs;
//   .bss calls and last_gid are the program's results, read in place (mmap, no syscall).
//
// Run as root: node main.js
import { loadGlobals } from "./globals.gen.js";

// process.getegid is POSIX-only, hence optional in Node's types.
const getegid = process.getegid ?? (() => 0);

// `using`: the collection is closed (programs detached, maps freed) at the end of the scope.
using objs = await loadGlobals({ rodata: { target_tgid: process.pid } });
objs.programs.on_getegid.attach();
console.log(objs.globals);

for (let i = 0; i < 5; i++) getegid();
console.log(`after 5 calls: calls=${objs.globals.bss.calls}`);

objs.globals.data.enabled = false;
for (let i = 0; i < 3; i++) getegid();
console.log(`disabled, 3 more calls: calls=${objs.globals.bss.calls}`);

objs.globals.data.enabled = true;
getegid();
console.log(`enabled again, 1 more: calls=${objs.globals.bss.calls} last_gid=${objs.globals.bss.last_gid}`);
if (objs.globals.bss.calls !== 6n) throw new Error(`expected 6 counted calls, got ${objs.globals.bss.calls}`);
