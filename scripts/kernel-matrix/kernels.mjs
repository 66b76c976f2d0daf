// Debian kernels for the matrix: find the newest package of a series, download it with
// `apt-get download`, unpack it with `dpkg-deb -x` and build a busybox initramfs for it.
// Everything lands in a cache directory outside the repository (and outside /tmp, which
// the guest mounts a tmpfs over); nothing is installed on the host.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

/** The series the matrix knows: package name pattern (newest by the captured number). */
export const SERIES = {
  6.1: { pattern: /^linux-image-6\.1\.0-(\d+)-amd64$/, search: "^linux-image-6\\.1\\.0-[0-9]+-amd64$" },
  6.12: {
    pattern: /^linux-image-6\.12\.(\d+)\+deb12-amd64$/,
    search: "^linux-image-6\\.12\\.[0-9]+\\+deb12-amd64$",
  },
};

/** Modules the guest needs before it can mount the host: 9p over virtio, and overlayfs. */
const BOOT_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) {
    const why = r.error
      ? r.error.message
      : (r.stderr || r.stdout || "").trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.join(" ")}: ${why || `exit ${r.status}`}`);
  }
  return r.stdout;
}

/** Newest package name of a series: from apt's index, else the newest one already cached. */
export function newestPackage(series, cacheDir, log) {
  const s = SERIES[series];
  if (!s) throw new Error(`unknown kernel series ${series} (known: ${Object.keys(SERIES).join(", ")})`);
  const num = (name) => Number(s.pattern.exec(name)?.[1] ?? -1);
  let names = [];
  try {
    names = run("apt-cache", ["search", "--names-only", s.search])
      .split("\n")
      .map((l) => l.split(" ")[0])
      .filter((n) => s.pattern.test(n));
  } catch (e) {
    log(`apt-cache search failed (${e.message.split("\n")[0]}); using the cache`);
  }
  if (names.length === 0) {
    const debs = existsSync(join(cacheDir, "deb")) ? readdirSync(join(cacheDir, "deb")) : [];
    names = debs.map((f) => f.split("_")[0]).filter((n) => s.pattern.test(n));
  }
  if (names.length === 0)
    throw new Error(`no package for kernel ${series} in apt's index or in ${cacheDir}/deb`);
  return names.sort((a, b) => num(b) - num(a))[0];
}

/** Topological load order of `wanted` and their dependencies, from modules.dep; built-ins skipped. */
function moduleOrder(modDir, wanted) {
  const dep = new Map();
  for (const line of readFileSync(join(modDir, "modules.dep"), "utf8").split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    dep.set(
      line.slice(0, i),
      line
        .slice(i + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  const byName = new Map();
  for (const path of dep.keys()) {
    const base = path
      .split("/")
      .pop()
      .replace(/\.ko(\.xz|\.zst|\.gz)?$/, "");
    byName.set(base.replace(/-/g, "_"), path);
  }
  const order = [];
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const d of dep.get(path) ?? []) visit(d);
    order.push(path);
  };
  for (const w of wanted) {
    const p = byName.get(w);
    if (p) visit(p); // absent: built into this kernel (modules.builtin)
  }
  return order;
}

const INIT = `#!/bin/busybox sh
# tsbpf kernel-matrix guest init: mount the host's / read-only over 9p with a tmpfs
# overlay, give it this kernel's modules and config, run /tsbpf-out/run.sh, power off.
/bin/busybox mkdir -p /proc /sys /dev /host /out /upper /root2 /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod "/mod/$m" || echo "tsbpf-init: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose host /host || { echo "tsbpf-init: cannot mount the host"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /out || { echo "tsbpf-init: cannot mount the output dir"; poweroff -f; }
mount -t tmpfs -o size=1500m tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w /root2 || { echo "tsbpf-init: overlay failed"; poweroff -f; }
R=/root2
mkdir -p "$R/lib/modules"
mount --bind "/host@MODULES@" "$R/lib/modules"
mkdir -p "$R/boot" "$R/tsbpf-out"
cp "/host@CONFIG@" "$R/boot/"
mount --bind /out "$R/tsbpf-out"
mount -t proc proc "$R/proc"
mount -t sysfs sys "$R/sys"
mount -t devtmpfs dev "$R/dev"
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts devpts "$R/dev/pts"
mount -t tmpfs tmpfs "$R/dev/shm"
# A repository under /tmp or /run would vanish under the guest's tmpfs there: keep its
# overlay view and bind it back on top.
REPO=$(cat /out/repo 2>/dev/null)
case "$REPO" in
  /tmp/*|/run/*) mkdir -p /repo-keep; mount --bind "$R$REPO" /repo-keep ;;
  *) REPO= ;;
esac
mount -t tmpfs tmpfs "$R/tmp"
mount -t tmpfs tmpfs "$R/run"
if [ -n "$REPO" ]; then mkdir -p "$R$REPO"; mount --bind /repo-keep "$R$REPO"; fi
mount -t tracefs tracefs "$R/sys/kernel/tracing" 2>/dev/null
mount -t debugfs debugfs "$R/sys/kernel/debug" 2>/dev/null
mount -t securityfs securityfs "$R/sys/kernel/security" 2>/dev/null
mount -t bpf bpf "$R/sys/fs/bpf"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
echo "tsbpf-init: running"
chroot "$R" /bin/sh /tsbpf-out/run.sh
echo "tsbpf-init: done $?"
sync
poweroff -f
`;

/**
 * A kernel ready to boot: { series, pkg, release, vmlinuz, initrd, root, modulesDir, config }.
 * Downloads, unpacks, runs depmod and builds the initramfs once per package.
 */
export function prepareKernel(series, cacheDir, log) {
  const pkg = newestPackage(series, cacheDir, log);
  const debDir = join(cacheDir, "deb");
  mkdirSync(debDir, { recursive: true });
  // apt-get download drops privileges to _apt where it can; let it write here.
  chmodSync(debDir, 0o777);
  let deb = readdirSync(debDir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
  if (!deb) {
    log(`downloading ${pkg}`);
    run("apt-get", ["download", pkg], { cwd: debDir });
    deb = readdirSync(debDir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${debDir}`);
  }
  const root = join(cacheDir, "x", pkg);
  if (!existsSync(join(root, ".complete"))) {
    log(`unpacking ${deb}`);
    const tmp = `${root}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    run("dpkg-deb", ["-x", join(debDir, deb), tmp]);
    const rel = readdirSync(join(tmp, "lib/modules"))[0];
    run("depmod", ["-b", tmp, rel]);
    writeFileSync(join(tmp, ".complete"), `${deb}\n`);
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
  }
  const release = readdirSync(join(root, "lib/modules"))[0];
  const modulesDir = join(root, "lib/modules");
  const config = join(root, "boot", `config-${release}`);
  // Named by a hash of what goes in, so a changed init script or module list rebuilds it.
  const tag = createHash("sha256").update(INIT).update(BOOT_MODULES.join(",")).digest("hex").slice(0, 12);
  const initrd = join(root, `initramfs-${tag}.cpio.gz`);
  if (!existsSync(initrd)) buildInitramfs(root, release, modulesDir, config, initrd, log);
  return { series, pkg, release, vmlinuz: join(root, "boot", `vmlinuz-${release}`), initrd, root, config };
}

function buildInitramfs(root, release, modulesDir, config, initrd, log) {
  log(`building the initramfs for ${release}`);
  const dir = join(root, "initramfs.d");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "mod"));
  // busybox runs applets by argv[0]: keep the file name "busybox" (poweroff fails otherwise).
  copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  symlinkSync("busybox", join(dir, "bin/sh"));
  const relDir = join(modulesDir, release);
  const list = [];
  for (const path of moduleOrder(relDir, BOOT_MODULES)) {
    const name = path
      .split("/")
      .pop()
      .replace(/\.(xz|zst|gz)$/, "");
    const src = join(relDir, path);
    // busybox insmod takes plain .ko files: decompress the packaged ones here.
    if (path.endsWith(".xz"))
      writeFileSync(join(dir, "mod", name), run("xz", ["-dc", src], { encoding: "buffer" }));
    else if (path.endsWith(".zst"))
      writeFileSync(join(dir, "mod", name), run("zstd", ["-dc", src], { encoding: "buffer" }));
    else copyFileSync(src, join(dir, "mod", name));
    list.push(name);
  }
  writeFileSync(join(dir, "modules.list"), `${list.join("\n")}\n`);
  writeFileSync(join(dir, "init"), INIT.replace("@MODULES@", modulesDir).replace("@CONFIG@", config), {
    mode: 0o755,
  });
  const cpio = spawnSync(
    "sh",
    ["-c", `cd '${dir}' && find . | cpio -o -H newc --quiet | gzip -1 > '${initrd}.tmp'`],
    {
      encoding: "utf8",
    },
  );
  if (cpio.status !== 0) throw new Error(`building ${initrd}: ${cpio.stderr}`);
  renameSync(`${initrd}.tmp`, initrd);
  rmSync(dir, { recursive: true, force: true });
}
