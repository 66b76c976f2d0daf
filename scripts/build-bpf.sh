#!/usr/bin/env bash
# Compiles BPF C sources into committed .bpf.o objects.
#
#   bash scripts/build-bpf.sh                 # every bpf/*.bpf.c, test/fixtures/*.bpf.c, examples/*/*.bpf.c
#   bash scripts/build-bpf.sh a.bpf.c ...     # only these (paths relative to the repo root)
#   TSBPF_BPF_OUT=/tmp/x bash scripts/build-bpf.sh   # write objects to /tmp/x/<same relative path>
#
# A source whose FIRST line is `// tsbpf-cflags: <flags>` gets <flags> appended
# (e.g. `-mcpu=v4`).
#
# Output must be bit-for-bit reproducible in any checkout directory, because
# test/build/objects.test.ts rebuilds everything and compares with the committed
# objects. So we run from the repo root with relative paths and map the
# compilation directory to "." in DWARF (-fdebug-prefix-map, -fdebug-compilation-dir).
# Nothing is stripped: .BTF and .BTF.ext must stay in the object.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CLANG="${CLANG:-clang-19}"
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "build-bpf: $CLANG not found (install clang-19, or set CLANG=...)" >&2
  exit 1
fi

out_root="${TSBPF_BPF_OUT:-}"

if [ "$#" -gt 0 ]; then
  sources=("$@")
else
  shopt -s nullglob
  sources=(bpf/*.bpf.c test/fixtures/*.bpf.c examples/*/*.bpf.c)
  shopt -u nullglob
fi

status=0
for src in "${sources[@]}"; do
  # Normalise to a path relative to the repo root (the same on every machine).
  case "$src" in
    "$root"/*) src="${src#"$root"/}" ;;
    ./*) src="${src#./}" ;;
  esac
  if [ ! -f "$src" ]; then
    echo "build-bpf: no such source: $src" >&2
    status=1
    continue
  fi
  obj="${src%.c}.o"
  if [ -n "$out_root" ]; then
    obj="$out_root/$obj"
    mkdir -p "$(dirname "$obj")"
  fi

  extra=()
  first_line="$(head -n 1 "$src")"
  if [[ "$first_line" =~ ^//[[:space:]]*tsbpf-cflags:(.*)$ ]]; then
    # Word-split the flags on purpose (they are plain compiler options).
    read -r -a extra <<<"${BASH_REMATCH[1]}"
  fi

  echo "  BPF  $src -> $obj${extra:+ (${extra[*]})}"
  if ! "$CLANG" -target bpf -O2 -g -Wall \
    -I bpf/include \
    -D__TARGET_ARCH_x86 \
    -fdebug-prefix-map="$root"=. \
    -fdebug-compilation-dir=. \
    -fno-ident \
    "${extra[@]}" \
    -c "$src" -o "$obj"; then
    echo "build-bpf: failed to compile $src" >&2
    status=1
  fi
done
exit "$status"
