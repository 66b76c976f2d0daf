// exec-count: a tracepoint program counts execs per command name in a hash map; user
// space reads the map with typed keys and values (exec-count.gen.ts, from tsbpf gen).
//
// Run as root: node main.js
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadExecCount } from "./exec-count.gen.js";

const objs = await loadExecCount();
// A command with a name nobody else runs, so its count is exact.
const name = `tsbpfx${process.pid.toString(16)}`.slice(0, 15);
const dir = mkdtempSync(join(tmpdir(), "exec-count-"));
try {
  objs.programs.count_exec.attach();
  copyFileSync("/bin/true", join(dir, name));
  spawnSync("chmod", ["755", join(dir, name)]);
  for (let i = 0; i < 3; i++) spawnSync(join(dir, name));

  const count = objs.maps.exec_count.lookup({ comm: name });
  console.log(`${name}: ${count ?? 0n} execs`);

  // Every command seen so far, busiest first (one BPF_MAP_LOOKUP_BATCH where supported).
  const all = objs.maps.exec_count.lookupBatch().sort((a, b) => Number(b[1] - a[1]));
  console.log(
    `${all.length} commands; top: ${all
      .slice(0, 3)
      .map(([k, n]) => `${k.comm}=${n}`)
      .join(" ")}`,
  );
  if (count !== 3n) throw new Error(`expected 3 execs of ${name}, counted ${count}`);
} finally {
  objs.close();
  rmSync(dir, { recursive: true, force: true });
}
