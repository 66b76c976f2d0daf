// Iterators and perf_event programs of iter.bpf.o: iter/task lists this process (read
// whole, as a Node stream, narrowed to one pid, and through a bpffs pin with cat),
// iter/bpf_map lists this object's maps; a cpu-clock perf_event program samples on
// every online CPU.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IterLink } from "../../src/link/iter.ts";
import { onlineCpus } from "../../src/link/perf-sample.ts";
import { loadCollection } from "../../src/loader/collection.ts";
import { mountIfAbsent } from "../../src/sys/fs.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/iter.bpf.o");

test("iter/task: every task, this process among them, read whole and as a stream", async () => {
  if (!privileged("iter/task")) return;
  const coll = await loadCollection(OBJ);
  try {
    const link = coll.programs.dump_tasks?.attach();
    assert.instance(link, IterLink);
    const it = link as IterLink;
    const text = it.read();
    const lines = text.trim().split("\n");
    assert.is(lines[0], "tgid pid comm");
    assert.ok(lines.length > 10, `${lines.length} lines`);
    assert.ok(
      lines.some((l) => l.startsWith(`${process.pid} ${process.pid} `)),
      "this process's main thread is there",
    );
    // The same pass as a Node stream.
    let streamed = "";
    for await (const chunk of it.stream()) streamed += chunk;
    assert.ok(streamed.startsWith("tgid pid comm\n"));
    assert.ok(streamed.includes(`\n${process.pid} ${process.pid} `));
    link?.close();
    // Narrowed to this process through bpf_iter_link_info: only its threads.
    const mine = coll.programs.dump_tasks?.attach({ pid: process.pid }) as IterLink;
    const rows = mine.read().trim().split("\n").slice(1);
    assert.ok(rows.length >= 1);
    assert.ok(
      rows.every((r) => r.startsWith(`${process.pid} `)),
      rows.join("\n"),
    );
    mine.close();
  } finally {
    coll.close();
  }
});

test("iter/bpf_map lists this object's maps; a pinned iterator prints with cat", async () => {
  if (!privileged("iter/bpf_map")) return;
  const coll = await loadCollection(OBJ);
  mountIfAbsent("bpf");
  const dir = `/sys/fs/bpf/tsbpf-net-${process.pid}-iter`;
  try {
    const link = coll.programs.dump_maps?.attach() as IterLink;
    const id = coll.maps.samples?.info().id;
    const text = link.read();
    assert.match(text, new RegExp(`^${id} samples 1$`, "m"));
    spawnSync("mkdir", ["-p", dir]);
    link.pin(`${dir}/maps`);
    const cat = spawnSync("cat", [`${dir}/maps`], { encoding: "utf8" });
    assert.is(cat.status, 0, cat.stderr);
    assert.match(cat.stdout, new RegExp(`^${id} samples 1$`, "m"));
    link.close();
    // The pin keeps the iterator alive after the link is closed.
    assert.match(spawnSync("cat", [`${dir}/maps`], { encoding: "utf8" }).stdout, "samples");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    coll.close();
  }
});

test("perf_event: cpu-clock samples are counted on every online CPU, and stop on close", async () => {
  if (!privileged("perf_event")) return;
  const coll = await loadCollection(OBJ);
  try {
    const cpus = onlineCpus();
    const link = coll.programs.on_sample?.attach({ perf: { event: "cpu-clock", frequency: 1000 } });
    assert.is(link?.kind, "perf_event");
    assert.is(link?.fds.length, cpus.length, "one link per CPU");
    await new Promise((r) => setTimeout(r, 500));
    const per = coll.maps.samples?.lookup(0) as bigint[];
    for (const cpu of cpus) assert.ok((per[cpu] ?? 0n) > 10n, `CPU ${cpu}: ${per[cpu]} samples`);
    link?.close();
    const total = () => (coll.maps.samples?.lookup(0) as bigint[] | undefined)?.reduce((a, b) => a + b, 0n);
    const at = total();
    await new Promise((r) => setTimeout(r, 200));
    const later = total();
    assert.is(later, at, "no samples after close");
  } finally {
    coll.close();
  }
});

test.run();
