// SPDX-License-Identifier: MIT
/*
 * globals.bpf.c: global variables as the interface between a program and user space.
 *   .rodata  `target_tgid`: set by the loader before load, constant to the verifier;
 *   .data    `enabled`: user space switches counting on and off while it runs;
 *   .bss     `calls`, `last_gid`: the program's results, read in place by user space.
 * The program counts getegid() calls made by target_tgid (raw tracepoint sys_enter
 * would see every syscall; the syscalls/ tracepoint sees only this one).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 target_tgid = 0;

bool enabled = true;

__u64 calls;
__u32 last_gid;

SEC("tracepoint/syscalls/sys_enter_getegid")
int on_getegid(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 uid_gid_hi; /* the gid half of bpf_get_current_uid_gid() */

	if ((__u32)(pid_tgid >> 32) != target_tgid || !enabled)
		return 0;
	__sync_fetch_and_add(&calls, 1);
	uid_gid_hi = (__u32)(bpf_get_current_uid_gid() >> 32);
	last_gid = uid_gid_hi;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
