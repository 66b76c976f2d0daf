// One QEMU (TCG) guest: boot a prepared kernel with the host's / shared read-only over
// virtio-9p, run the chosen checks inside, and collect their status and logs from a
// second, writable 9p share. KVM is not used: on this machine kind it crashes early
// (see ../shared/PLATFORM.md "Kernel matrix").
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** The script the guest runs (chroot'ed into the overlay of the host's /). */
function runScript(repo, checks, env) {
  const lines = [
    "#!/bin/sh",
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8",
    "export TSBPF_KERNEL_MATRIX=1 NO_COLOR=1",
    ...Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}`),
    `cd ${q(repo)} || exit 1`,
    "uname -r > /tsbpf-out/release",
  ];
  for (const c of checks) {
    lines.push(
      `echo "tsbpf-guest: check ${c.id}"`,
      "t0=$(date +%s)",
      `( ${c.cmd} ) > /tsbpf-out/${c.id}.log 2>&1 < /dev/null`,
      "rc=$?",
      `echo "$rc $(( $(date +%s) - t0 ))" > /tsbpf-out/${c.id}.status`,
      `echo "tsbpf-guest: check ${c.id} exit $rc"`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Boots `kernel` and runs `checks` ({id, cmd}) in `repo`. Resolves to
 * { release, bootSeconds, totalSeconds, results: {id: {status, seconds, log}}, error? }.
 */
export async function runGuest(kernel, checks, { repo, outDir, timeoutSec, smp, mem, env, verbose }) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "run.sh"), runScript(repo, checks, env), { mode: 0o755 });
  writeFileSync(join(outDir, "repo"), `${repo}\n`);
  const args = [
    "-accel",
    "tcg,thread=multi",
    "-cpu",
    "max",
    "-smp",
    String(smp),
    "-m",
    mem,
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-nic",
    "none",
    "-kernel",
    kernel.vmlinuz,
    "-initrd",
    kernel.initrd,
    "-append",
    "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init",
    "-fsdev",
    "local,id=host,path=/,readonly=on,security_model=none,multidevs=remap",
    "-device",
    "virtio-9p-pci,fsdev=host,mount_tag=host",
    "-fsdev",
    `local,id=out,path=${outDir},security_model=none`,
    "-device",
    "virtio-9p-pci,fsdev=out,mount_tag=out",
  ];
  const t0 = Date.now();
  let bootSeconds;
  const console = createWriteStream(join(outDir, "console.log"));
  const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
  let buf = "";
  const onData = (d) => {
    console.write(d);
    if (verbose) process.stderr.write(d);
    buf = (buf + d.toString("latin1")).slice(-4096);
    if (bootSeconds === undefined && buf.includes("tsbpf-init: running"))
      bootSeconds = (Date.now() - t0) / 1000;
    if (!verbose) {
      for (const m of buf.matchAll(/tsbpf-guest: check (\S+) exit (\d+)/g)) {
        if (!seen.has(m[1])) {
          seen.add(m[1]);
          process.stderr.write(
            `  [${kernel.series}] ${m[1]}: exit ${m[2]} (${Math.round((Date.now() - t0) / 1000)}s)\n`,
          );
        }
      }
    }
  };
  const seen = new Set();
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutSec * 1000);
  const code = await new Promise((resolve) => child.on("close", (c, sig) => resolve(c ?? sig)));
  clearTimeout(timer);
  await new Promise((r) => console.end(r));
  const totalSeconds = (Date.now() - t0) / 1000;
  const { release, results } = readResults(outDir, checks);
  let error;
  if (timedOut) error = `guest killed after ${timeoutSec} s`;
  else if (bootSeconds === undefined)
    error = `guest did not reach its command (qemu exit ${code}); see ${outDir}/console.log`;
  return { release, bootSeconds, totalSeconds, results, error };
}

/** What a guest left in `outDir`: its kernel release and each check's status, time and log. */
export function readResults(outDir, checks) {
  const results = {};
  for (const c of checks) {
    const st = join(outDir, `${c.id}.status`);
    const lg = join(outDir, `${c.id}.log`);
    const log = existsSync(lg) ? readFileSync(lg, "utf8") : "";
    if (!existsSync(st)) {
      results[c.id] = { status: undefined, seconds: undefined, log };
      continue;
    }
    const [status, seconds] = readFileSync(st, "utf8").trim().split(" ").map(Number);
    results[c.id] = { status, seconds, log };
  }
  const release = existsSync(join(outDir, "release"))
    ? readFileSync(join(outDir, "release"), "utf8").trim()
    : undefined;
  return { release, results };
}
