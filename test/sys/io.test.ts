import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { closeFd, linkCreate, linkInfo, progLoad } from "../../src/sys/bpf.ts";
import { numPossibleCpus, parseCpuList } from "../../src/sys/cpus.ts";
import { FEATURE_NAMES, probe } from "../../src/sys/features.ts";
import { mountIfAbsent, mountPointsOf } from "../../src/sys/fs.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, mmap, munmap, PROT_READ, PROT_WRITE, view } from "../../src/sys/mm.ts";
import {
  ioctl,
  PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_ENABLE,
  PERF_EVENT_IOC_SET_BPF,
  PERF_TYPE_TRACEPOINT,
  perfEventOpen,
} from "../../src/sys/perf.ts";
import {
  EPOLL_CTL_ADD,
  EPOLLIN,
  EpollEvents,
  epollCreate,
  epollCtl,
  epollWait,
  epollWaitAsync,
  eventfd,
  eventfdRead,
  eventfdWrite,
} from "../../src/sys/poll.ts";
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE } from "../../src/uapi.ts";
import { privileged } from "../helpers/env.ts";

const run = privileged("sys io tests");
const RET0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

test("cpu list parsing", () => {
  assert.equal(parseCpuList("0-3,5,7-8\n"), [0, 1, 2, 3, 5, 7, 8]);
  assert.throws(() => parseCpuList("x"), /cannot parse CPU list "x"/);
  assert.ok(numPossibleCpus() >= 1);
});

test("mmap anonymous memory: zero-copy view both ways", () => {
  const addr = mmap(8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const a = new Uint32Array(view(addr, 8192));
  const b = new Uint32Array(view(addr, 8192));
  a[100] = 0xdeadbeef;
  assert.is(b[100], 0xdeadbeef);
  munmap(addr, 8192);
  assert.throws(
    () => mmap(4096, PROT_READ, MAP_PRIVATE, 12345, 0),
    /mmap fd 12345: bad file descriptor \(EBADF\)/,
  );
});

test("eventfd + epoll: sync and async wait", async () => {
  const ep = epollCreate();
  const efd = eventfd();
  try {
    epollCtl(ep, EPOLL_CTL_ADD, efd, EPOLLIN, 7);
    const ev = new EpollEvents(4);
    assert.is(epollWait(ep, ev, 0), 0);
    eventfdWrite(efd, 3);
    assert.is(epollWait(ep, ev, 1000), 1);
    assert.is(ev.data(0), 7);
    assert.ok(ev.events(0) & EPOLLIN);
    assert.is(eventfdRead(efd), 3n);
    assert.is(eventfdRead(efd), 0n);
    const pending = epollWaitAsync(ep, ev, 10_000);
    setTimeout(() => eventfdWrite(efd, 1), 20);
    assert.is(await pending, 1);
    assert.is(ev.data(0), 7);
  } finally {
    closeFd(efd);
    closeFd(ep);
  }
});

test("feature probes answer and are cached", () => {
  if (!run) return;
  for (const f of FEATURE_NAMES) assert.type(probe(f), "boolean");
  // Linux 6.18 here has all of them.
  for (const f of FEATURE_NAMES) assert.ok(probe(f), f);
  assert.throws(() => probe("nope" as never), /unknown feature probe 'nope'/);
});

test("mounts; perf_event_open on a tracepoint + SET_BPF and BPF_LINK_CREATE", () => {
  if (!run) return;
  assert.is(mountIfAbsent("bpf"), "/sys/fs/bpf");
  assert.is(mountIfAbsent("tracefs"), "/sys/kernel/tracing");
  assert.ok(mountPointsOf("tracefs").includes("/sys/kernel/tracing"));
  const id = Number(readFileSync("/sys/kernel/tracing/events/sched/sched_process_exec/id", "utf8"));
  const prog = progLoad({ prog_type: BPF_PROG_TYPE.TRACEPOINT, insns: RET0, license: "GPL" });
  const pfd = perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: id, sample_period: 1, wakeup_events: 1 });
  const pfd2 = perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: id, sample_period: 1, wakeup_events: 1 });
  try {
    ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog);
    ioctl(pfd, PERF_EVENT_IOC_ENABLE);
    ioctl(pfd, PERF_EVENT_IOC_DISABLE);
    // A program can be in a tracepoint's prog array only once (EEXIST): use a second one.
    const prog2 = progLoad({ prog_type: BPF_PROG_TYPE.TRACEPOINT, insns: RET0, license: "GPL" });
    const link = linkCreate({ prog_fd: prog2, target_fd: pfd2, attach_type: BPF_ATTACH_TYPE.BPF_PERF_EVENT });
    assert.ok(linkInfo(link).prog_id > 0);
    closeFd(link);
    closeFd(prog2);
    assert.throws(() => ioctl(pfd, 0x1234), /ioctl\(0x1234\) fd \d+/);
  } finally {
    closeFd(pfd2);
    closeFd(pfd);
    closeFd(prog);
  }
  assert.throws(
    () => perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: 0xfffffff }),
    /perf_event_open: .*\((ENOENT|EINVAL)\)/,
  );
});

test.run();
