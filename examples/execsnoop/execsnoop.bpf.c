// SPDX-License-Identifier: MIT
/*
 * execsnoop.bpf.c: one ring-buffer record per successful exec, from the BTF-typed
 * tracepoint sched_process_exec (tp_btf: the kernel's own arguments, no tracefs
 * format parsing). The parent's pid and the credentials come from task_struct with
 * CO-RE reads, so the same object runs on any kernel with BTF, whatever its
 * task_struct layout: tsbpf relocates each access against the running kernel's BTF
 * (or the one given as LoadOptions.btf).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define FILENAME_LEN 256

struct exec_event {
	__u64 ts_ns;      /* bpf_ktime_get_boot_ns() */
	__u32 pid;        /* tgid of the process that exec'd */
	__u32 ppid;       /* its parent's tgid, read through CO-RE */
	__u32 uid;        /* real uid, read through CO-RE */
	__u32 _pad;
	char comm[16];    /* the new comm (the file's basename) */
	char filename[FILENAME_LEN];
};

/* Makes clang emit struct exec_event into the object's BTF (for tsbpf gen). */
const volatile struct exec_event exec_event_anchor __attribute__((used));

/* Only children of this process, when set (0: every exec on the machine). */
const volatile __u32 parent_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Records the ring buffer had no room for: a reader reports them, never hides them. */
__u64 dropped;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 ppid = BPF_CORE_READ(p, real_parent, tgid);

	if (parent_tgid && ppid != parent_tgid)
		return 0;
	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->pid = BPF_CORE_READ(p, tgid);
	e->ppid = ppid;
	e->uid = BPF_CORE_READ(p, real_cred, uid.val);
	e->_pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
