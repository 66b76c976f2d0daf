#!/usr/bin/env bash
# Installs what the tests, the BPF build and the oracles need on a fresh Debian machine:
# npm packages, clang-19/llvm-19 (BPF build, llvm-objdump/llvm-readelf oracles),
# libbpf-dev (BPF-side headers, the C ring-buffer peer), bpftool (BTF and xlated oracles),
# dwarves (pahole: the oracle of `inspect --type` struct layouts),
# libbpf-tools and bpftrace (peers for the benchmarks), chromium (the report page tests,
# driven by playwright-core), prometheus and nats-server (the export tests run them on
# loopback), iproute2 and python3 (the network attach tests build veth pairs in their own
# namespaces), and for the kernel matrix (scripts/kernel-matrix.mjs):
# qemu-system-x86, busybox-static, cpio, kmod (depmod), xz-utils and zstd (modules).
# Mounts tracefs and bpffs.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in clang-19 llvm-19 libbpf-dev linux-libc-dev bpftool dwarves libbpf-tools bpftrace util-linux procps gcc make chromium prometheus nats-server iproute2 python3 \
  qemu-system-x86 busybox-static cpio kmod xz-utils zstd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# tracefs and bpffs: the loader mounts them itself when absent, but the oracle tools
# (bpftool prog loadall) need bpffs before they run.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
