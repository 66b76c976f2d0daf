// CO-RE "flavors": a local type or enumerator named `task_struct___old` stands for the
// kernel's `task_struct`. libbpf (bpf_core_essential_name_len) takes the essential name
// as everything before the LAST `___` that is preceded and followed by a non-`_`.

export function essentialNameLen(name: string): number {
  const n = name.length;
  for (let i = n - 5; i >= 0; i--) {
    if (
      name.charCodeAt(i) !== 0x5f &&
      name.charCodeAt(i + 1) === 0x5f &&
      name.charCodeAt(i + 2) === 0x5f &&
      name.charCodeAt(i + 3) === 0x5f &&
      name.charCodeAt(i + 4) !== 0x5f
    ) {
      return i + 1;
    }
  }
  return n;
}

export function essentialName(name: string): string {
  return name.slice(0, essentialNameLen(name));
}

/**
 * Name equality for TYPE_MATCHES (libbpf bpf_core_names_match): anonymous on either
 * side matches; otherwise the target must start with the local essential name.
 */
export function namesMatch(local: string, target: string): boolean {
  if (local === "" || target === "") return true;
  return target.startsWith(local.slice(0, essentialNameLen(local)));
}

/**
 * How messages name the BTF a lookup searched: "kernel BTF" for the running kernel's,
 * else "target BTF <file>" (an override such as --btf), so an error never blames the
 * kernel for what a file lacks.
 */
export function targetLabel(target: { name: string }): string {
  return target.name === "/sys/kernel/btf/vmlinux" ? "kernel BTF" : `target BTF ${target.name}`;
}
