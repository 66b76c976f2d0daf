// Syscall numbers come from a per-architecture table; any other architecture gets one
// clear error (not a wrong syscall). Oracle for x86-64: the kernel's syscall_64.tbl via
// the numbers every x86-64 libc uses; arm64: asm-generic/unistd.h.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  archSyscalls,
  epollEventLayout,
  SYSCALLS_BY_ARCH,
  UnsupportedArchError,
} from "../../src/sys/arch.ts";
import { SYS_bpf, SYS_perf_event_open } from "../../src/sys/libc.ts";
import { haveTool, inCI } from "../helpers/env.ts";

test("x86-64 and arm64 numbers", () => {
  assert.equal(archSyscalls("x64"), { bpf: 321, perf_event_open: 298 });
  assert.equal(archSyscalls("arm64"), { bpf: 280, perf_event_open: 241 });
});

/** `#define __NR_<name> N` of a kernel UAPI header. */
function headerNumber(path: string, name: string): number | undefined {
  const m = new RegExp(`^#define __NR_${name}\\s+(\\d+)\\s*$`, "m").exec(readFileSync(path, "utf8"));
  return m ? Number(m[1]) : undefined;
}

/** Debian's linux-libc-dev headers: x86-64's own table, and the generic one arm64 uses. */
const HEADERS: Record<string, string> = {
  x64: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
  arm64: "/usr/include/asm-generic/unistd.h",
};

test("the table agrees with the kernel's UAPI headers (unistd_64.h, asm-generic/unistd.h)", () => {
  for (const [arch, path] of Object.entries(HEADERS)) {
    if (!existsSync(path)) {
      if (inCI) throw new Error(`${path} is missing (linux-libc-dev), and CI=true forbids skipping`);
      console.log(`  (skipping ${arch}: no ${path})`);
      continue;
    }
    const t = archSyscalls(arch);
    assert.is(t.bpf, headerNumber(path, "bpf"), `${arch} bpf`);
    assert.is(t.perf_event_open, headerNumber(path, "perf_event_open"), `${arch} perf_event_open`);
  }
  assert.equal(Object.keys(SYSCALLS_BY_ARCH).sort(), Object.keys(HEADERS).sort());
});

/** clang's targets for Node's architecture names. */
const CLANG_TARGET: Record<string, string> = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };

test("struct epoll_event as the kernel's linux/eventpoll.h lays it out for each architecture (clang)", () => {
  if (!existsSync("/usr/include/linux/eventpoll.h") || !haveTool("clang-19")) return;
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-uapi-epoll-"));
  try {
    const src = join(dir, "e.c");
    writeFileSync(
      src,
      [
        "#include <linux/eventpoll.h>",
        "#include <stddef.h>",
        '_Static_assert(sizeof(struct epoll_event) == SIZE, "size");',
        '_Static_assert(offsetof(struct epoll_event, data) == DATA, "data");',
      ].join("\n"),
    );
    const resource = spawnSync("clang-19", ["-print-resource-dir"], { encoding: "utf8" }).stdout.trim();
    for (const [arch, target] of Object.entries(CLANG_TARGET)) {
      const { size, data } = epollEventLayout(arch);
      // The asm/ headers eventpoll.h reaches (asm/types.h: int-ll64) are the same on both.
      const r = spawnSync(
        "clang-19",
        [
          `--target=${target}`,
          "-fsyntax-only",
          "-nostdinc",
          ...["-isystem", `${resource}/include`, "-isystem", "/usr/include"],
          ...["-isystem", "/usr/include/x86_64-linux-gnu", `-DSIZE=${size}`, `-DDATA=${data}`, src],
        ],
        { encoding: "utf8" },
      );
      assert.is(r.status, 0, `${arch}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(Object.keys(CLANG_TARGET).sort(), Object.keys(SYSCALLS_BY_ARCH).sort());
});

test("this machine's numbers are the table's", () => {
  assert.is(SYS_bpf, archSyscalls().bpf);
  assert.is(SYS_perf_event_open, archSyscalls().perf_event_open);
});

test("an unknown architecture is one clear error", () => {
  assert.throws(
    () => archSyscalls("riscv64"),
    (e: Error) =>
      e instanceof UnsupportedArchError &&
      /does not know the bpf\(2\) syscall number on riscv64 \(supported: x64, arm64\)/.test(e.message),
  );
});

test.run();
