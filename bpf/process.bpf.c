// tsbpf-cflags: -mcpu=v3
/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * process.bpf.c: kernel side of `tsbpf trace` (process lifecycle tracer).
 *
 * Programs (all CO-RE; the loader relocates them against /sys/kernel/btf/vmlinux):
 *   tp_btf/sched_process_fork          handle_fork        new process / new thread
 *   tp_btf/sched_process_exec          handle_exec        successful execve/execveat
 *   tp_btf/sched_process_exit          handle_exit        process exit (last thread) / thread exit
 *   tracepoint/syscalls/sys_enter_execve    handle_enter_execve     }  failed exec, only
 *   tracepoint/syscalls/sys_enter_execveat  handle_enter_execveat   }  with .rodata
 *   tracepoint/syscalls/sys_exit_execve     handle_exit_execve      }  trace_failed_exec
 *   tracepoint/syscalls/sys_exit_execveat   handle_exit_execveat    }
 *
 * Records go to the `events` ring buffer (or, built with -DTSBPF_OUTPUT_PERF as
 * bpf/process_perf.bpf.c, a per-CPU perf event array for kernels without ring
 * buffers: same programs, same records); their layout is in process.h and
 * docs/events-wire.md. Behaviour is configured through the `const volatile`
 * globals below (.rodata), which user space sets before loading: the verifier
 * sees them as constants and drops the branches they disable.
 *
 * Build: npm run build:bpf. TSBPF_WIDE_DEFAULTS=1 (-D) turns every option on at
 * its widest setting; it exists only so `bpftool prog loadall` can verify the
 * longest code paths, and the committed object is built without it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "process.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#ifndef TSBPF_WIDE_DEFAULTS
#define TSBPF_WIDE_DEFAULTS 0
#endif
#define WIDE(on, off) (TSBPF_WIDE_DEFAULTS ? (on) : (off))

/* ---- Configuration (.rodata), set by user space before load ---- */

/* Report thread creation and per-thread exits too (TSBPF_EV_THREAD / _THREAD_EXIT). */
const volatile bool trace_threads = WIDE(true, false);
/* Capture the environment of exec'd processes (up to max_env_bytes). */
const volatile bool capture_env = WIDE(true, false);
/* Report execve/execveat calls that fail (TSBPF_EV_EXEC_FAILED). */
const volatile bool trace_failed_exec = WIDE(true, false);
/* Bytes of argv / env copied per exec; clamped to TSBPF_ARGS_MAX / TSBPF_ENV_MAX. */
const volatile __u32 max_args_bytes = WIDE(TSBPF_ARGS_MAX, 4096);
const volatile __u32 max_env_bytes = WIDE(TSBPF_ENV_MAX, 4096);
/* Only events of this real uid; 0xffffffff (-1, the kernel's INVALID_UID) = all. */
const volatile __u32 targ_uid = WIDE(0, 0xffffffff);
/* Only events in this cgroup v2 (exact id, not descendants); 0 = all. */
const volatile __u64 targ_cgroup_id = WIDE(1, 0);
/* Only tasks whose own pid namespace has this inode number; 0 = all. */
const volatile __u32 targ_pidns = WIDE(1, 0);
/* Only the processes in `tracked` (seeded by user space) and their descendants. */
const volatile bool filter_descendants = WIDE(true, false);
/* Token bucket for fork/exec events (never exits): events per second; 0 = off. */
const volatile __u32 rate_limit_per_sec = WIDE(1000, 0);
/* Bucket size (events allowed back to back); 0 = rate_limit_per_sec. */
const volatile __u32 rate_burst = WIDE(100, 0);
/* One bucket per parent tgid instead of per cgroup. */
const volatile bool rate_limit_by_parent = WIDE(true, false);

/*
 * BTF anchors: make clang emit every record type (and the enums naming their
 * numbers and flags) into the object's BTF, so user space can derive its
 * decoders from the object itself. They must be objects, not pointers (clang
 * emits only a FWD for a pointee it doesn't otherwise need). Never read by the
 * programs; they cost ~600 bytes of .rodata.
 */
#define BTF_ANCHOR(type, name) const volatile type name __attribute__((used))
BTF_ANCHOR(struct tsbpf_fork_event, tsbpf_anchor_fork);
BTF_ANCHOR(struct tsbpf_exec_event, tsbpf_anchor_exec);
BTF_ANCHOR(struct tsbpf_exec_failed_event, tsbpf_anchor_exec_failed);
BTF_ANCHOR(struct tsbpf_exit_event, tsbpf_anchor_exit);
BTF_ANCHOR(enum tsbpf_exec_flags, tsbpf_anchor_exec_flags);
BTF_ANCHOR(enum tsbpf_exit_flags, tsbpf_anchor_exit_flags);
BTF_ANCHOR(enum tsbpf_exec_syscall, tsbpf_anchor_exec_syscall);

/* ---- Maps (every one bounded; LRU where keyed by pid/tid/cgroup) ---- */

#ifdef TSBPF_OUTPUT_PERF
/*
 * Output for kernels without BPF_MAP_TYPE_RINGBUF (< 5.8): one perf ring per CPU
 * (bpf/process_perf.bpf.c builds this variant). max_entries 0: the loader sizes it
 * to the number of possible CPUs. A full perf ring makes bpf_perf_event_output()
 * return -ENOSPC and the kernel counts the drop itself (rb->lost, reported to the
 * reader as PERF_RECORD_LOST, kernel/events/ring_buffer.c perf_output_begin), so
 * only other failures are counted in `lost` here, or they would be counted twice.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");
#define TSBPF_ENOSPC 28
/* A function, not a macro: the macro this was named its argument twice, so
 * "failed(output(...))" called the output again whenever it failed, and a full
 * ring counted one exec as two drops (or delivered it after counting it lost). */
static __always_inline bool emit_failed(long ret)
{
	return ret && ret != -TSBPF_ENOSPC;
}
/* Fixed-size records are built on the stack (<= 120 bytes), then copied out. */
#define EV_BEGIN(e, type) \
	typeof(*(e)) __ev_buf; \
	(e) = &__ev_buf
#define EV_SUBMIT(ctx, e, type) \
	do { \
		long __r = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, (e), sizeof(*(e))); \
		if (emit_failed(__r)) \
			count(&lost, type); \
	} while (0)
#define EV_OUTPUT(ctx, data, size) bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, size)
#else
/* Output. User space may resize (a power of two multiple of the page size) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");
static __always_inline bool emit_failed(long ret)
{
	return ret != 0;
}
/* Fixed-size records are reserved in the ring and written in place. */
#define EV_BEGIN(e, type) \
	(e) = bpf_ringbuf_reserve(&events, sizeof(*(e)), 0); \
	if (!(e)) { \
		count(&lost, type); \
		return 0; \
	}
#define EV_SUBMIT(ctx, e, type) bpf_ringbuf_submit((e), 0)
#define EV_OUTPUT(ctx, data, size) bpf_ringbuf_output(&events, data, size, 0)
#endif

/*
 * Scratch space for variable-length records (exec, exec_failed), one slot per
 * CPU, indexed by bpf_get_smp_processor_id(). Not a PERCPU_ARRAY: per-CPU
 * values are limited to 32 KiB (PCPU_MIN_UNIT_SIZE), and an exec record can be
 * ~72 KiB. User space should set max_entries to the number of possible CPUs
 * (/sys/devices/system/cpu/possible); events on CPUs beyond it count as lost.
 */
#define TSBPF_EXEC_FIXED ((__u32)sizeof(struct tsbpf_exec_event))
#define TSBPF_SCRATCH_SIZE \
	(TSBPF_EXEC_FIXED + 2 * TSBPF_FILENAME_MAX + TSBPF_EXE_MAX + TSBPF_ARGS_MAX + TSBPF_ENV_MAX)
/* A dentry name is at most NAME_MAX (255) bytes (include/uapi/linux/limits.h). */
#define TSBPF_NAME_MAX 255
struct tsbpf_scratch {
	__u32 busy; /* set while a program builds a record here (guards against re-entry) */
	__u32 _pad;
	__u8 buf[TSBPF_SCRATCH_SIZE];
	/* The exe path is built right to left here (as d_path() does), then copied
	 * into buf. The extra NAME_MAX bytes let the verifier accept a name written at
	 * any offset below TSBPF_EXE_MAX. */
	__u8 path[TSBPF_EXE_MAX + TSBPF_NAME_MAX + 1];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, struct tsbpf_scratch);
} scratch SEC(".maps");

/* Ring-buffer losses (output/reserve failed, or no scratch slot), per event type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TSBPF_EV_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Events dropped by the rate limiter, per event type (separate from losses). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TSBPF_EV_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rate_limited SEC(".maps");

/* filter_descendants: tgids being traced. User space seeds the root(s). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

/* Token buckets (key: cgroup id, or parent tgid when rate_limit_by_parent). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct tsbpf_rate_state);
} rate SEC(".maps");

/* trace_failed_exec: syscall arguments from sys_enter_execve* keyed by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct tsbpf_exec_start);
} exec_args SEC(".maps");

/*
 * Process exits already reported. Several threads of a group can see
 * signal->live == 0 (see handle_exit); the first to insert its key wins.
 */
struct tsbpf_exit_key {
	__u32 tgid;
	__u32 _pad;
	__u64 exec_id;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tsbpf_exit_key);
	__type(value, __u8);
} exit_seen SEC(".maps");

/* ---- Kernel facts that are #defines (not in BTF) ---- */

/* include/linux/sched/signal.h: signal_struct.flags bit, stable since 2.6. */
#define SIGNAL_GROUP_EXIT 0x00000004
/* include/uapi/linux/fcntl.h */
#define AT_FDCWD -100

/* Before 5.5 start_boottime was called real_start_time (CO-RE flavour). */
struct task_struct___pre55 {
	u64 real_start_time;
} __attribute__((preserve_access_index));

/* ---- Helpers ---- */

static __always_inline void count(void *map, __u32 type)
{
	__u64 *c = bpf_map_lookup_elem(map, &type);

	if (c)
		*c += 1; /* per-CPU value: no atomics needed */
}

/* Group leader's boot-time start: with the tgid, a process id unique across pid reuse. */
static __always_inline __u64 task_exec_id(struct task_struct *t)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);

	if (bpf_core_field_exists(leader->start_boottime))
		return BPF_CORE_READ(leader, start_boottime);
	return BPF_CORE_READ((struct task_struct___pre55 *)leader, real_start_time);
}

/* The nr of `pid` in its own (deepest) namespace, and that namespace's inode. */
static __always_inline __u32 pid_nr_in_own_ns(struct pid *pid, __u32 *ns_ino)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	/* pid->numbers[level] is the entry for the namespace the task lives in
	 * (include/linux/pid.h); nsproxy->pid_ns_for_children is NOT that one. */
	bpf_core_read(&up, sizeof(up), (void *)&pid->numbers + (__u64)level * sizeof(struct upid));
	if (ns_ino)
		*ns_ino = BPF_CORE_READ(up.ns, ns.inum);
	return up.nr;
}

static __always_inline __u32 task_pidns_ino(struct task_struct *t)
{
	__u32 ino = 0;

	pid_nr_in_own_ns(BPF_CORE_READ(t, thread_pid), &ino);
	return ino;
}

static __always_inline __u32 task_uid(struct task_struct *t)
{
	return BPF_CORE_READ(t, real_cred, uid.val);
}

static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

/* uid / cgroup / pid-namespace filters; true = keep. */
static __always_inline bool pass_filters(struct task_struct *t, __u64 cgroup_id)
{
	if (targ_uid != 0xffffffff && task_uid(t) != targ_uid)
		return false;
	if (targ_cgroup_id && cgroup_id != targ_cgroup_id)
		return false;
	if (targ_pidns && task_pidns_ino(t) != targ_pidns)
		return false;
	return true;
}

static __always_inline bool is_tracked(__u32 tgid)
{
	return bpf_map_lookup_elem(&tracked, &tgid) != NULL;
}

/*
 * GCRA token bucket: an event conforms if, after it, the bucket's theoretical
 * arrival time is at most `burst` intervals ahead of now. true = allowed.
 */
static __always_inline bool rate_allow(__u64 key, __u32 type)
{
	struct tsbpf_rate_state *st;
	__u64 now, interval, tau, tat;

	if (!rate_limit_per_sec)
		return true;
	now = bpf_ktime_get_ns();
	interval = 1000000000ULL / rate_limit_per_sec;
	tau = interval * (rate_burst ? rate_burst : rate_limit_per_sec);
	st = bpf_map_lookup_elem(&rate, &key);
	if (!st) {
		struct tsbpf_rate_state init = { .tat_ns = now + interval };

		bpf_map_update_elem(&rate, &key, &init, BPF_NOEXIST);
		return true;
	}
	tat = st->tat_ns;
	if (tat < now)
		tat = now;
	if (tat + interval - now > tau) {
		count(&rate_limited, type);
		return false;
	}
	st->tat_ns = tat + interval;
	return true;
}

/* Fill the common header for task `t` (all fields written: ring-buffer memory is not zeroed). */
static __always_inline void fill_hdr(struct tsbpf_event_hdr *h, struct task_struct *t,
				     enum tsbpf_event_type type, __u32 size, __u64 cgroup_id)
{
	const struct cred *cred = BPF_CORE_READ(t, real_cred);
	struct task_struct *parent = BPF_CORE_READ(t, real_parent);
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	__u32 ns_ino = 0;

	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = cgroup_id;
	h->exec_id = task_exec_id(t);
	h->parent_exec_id = task_exec_id(parent);
	h->type = type;
	h->size = size;
	h->pid = BPF_CORE_READ(t, tgid);
	h->tid = BPF_CORE_READ(t, pid);
	h->ppid = BPF_CORE_READ(parent, tgid);
	h->uid = BPF_CORE_READ(cred, uid.val);
	h->gid = BPF_CORE_READ(cred, gid.val);
	h->euid = BPF_CORE_READ(cred, euid.val);
	h->ns_tid = pid_nr_in_own_ns(BPF_CORE_READ(t, thread_pid), &ns_ino);
	h->pidns_ino = ns_ino;
	h->ns_pid = pid_nr_in_own_ns(BPF_CORE_READ(leader, thread_pid), NULL);
	h->cpu = bpf_get_smp_processor_id();
	BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
}

/* Claim this CPU's scratch slot, or NULL (counted as lost). */
static __always_inline struct tsbpf_scratch *scratch_get(__u32 type)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct tsbpf_scratch *s = bpf_map_lookup_elem(&scratch, &cpu);

	/* Tracepoint programs run with preemption off, so `busy` is a cheap
	 * guard, not a lock: it turns any unexpected re-entry into a counted
	 * loss instead of a corrupted record. */
	if (!s || __sync_lock_test_and_set(&s->busy, 1)) {
		count(&lost, type);
		return NULL;
	}
	return s;
}

static __always_inline void scratch_put(struct tsbpf_scratch *s)
{
	/* Plain store (BPF has no store-release before -mcpu=v4's load-acquire/
	 * store-release); the output helper already copied the record. */
	*(volatile __u32 *)&s->busy = 0;
}

/* ---- fork / clone ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	/* tp_btf arguments are BTF-typed pointers: plain loads (checked by the
	 * verifier, CO-RE relocated) instead of bpf_probe_read_kernel calls, on the
	 * path every new thread takes only to be dropped (bench: thread storm). */
	__u32 ctgid = child->tgid;
	/* CLONE_THREAD <=> the child joins the caller's thread group (kernel/fork.c
	 * copy_process sets p->tgid = current->tgid only then). */
	bool is_thread = child->pid != ctgid;
	enum tsbpf_event_type type = is_thread ? TSBPF_EV_THREAD : TSBPF_EV_FORK;
	struct tsbpf_fork_event *e;
	__u32 ptgid;
	__u64 cgid;

	/* First: the descendant filter below does nothing for a thread but drop it. */
	if (is_thread && !trace_threads)
		return 0;
	ptgid = parent->tgid;
	if (filter_descendants) {
		if (!is_tracked(ptgid))
			return 0;
		/* Track the child even if this event is filtered or rate-limited below. */
		if (!is_thread) {
			__u8 one = 1;

			bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
		}
	}
	/* The child's own cgroup (it differs from the caller's with CLONE_INTO_CGROUP). */
	cgid = task_cgroup_id(child);
	if (!pass_filters(child, cgid))
		return 0;
	if (!rate_allow(rate_limit_by_parent ? ptgid : cgid, type))
		return 0;

	EV_BEGIN(e, type);
	fill_hdr(&e->hdr, child, type, sizeof(*e), cgid);
	e->parent_pid = ptgid;
	e->parent_tid = BPF_CORE_READ(parent, pid);
	EV_SUBMIT(ctx, e, type);
	return 0;
}

/* ---- exec ---- */

/* ---- The executed file, from the kernel's view ---- */

/* include/uapi/linux/stat.h */
#define S_IWOTH 00002
#define S_ISVTX 01000
/* Components (and mount crossings) walked per exec: deeper paths are cut. */
#define TSBPF_PATH_DEPTH 48

static __always_inline struct mount *real_mount(struct vfsmount *vm)
{
	/* container_of(vm, struct mount, mnt) with the kernel's offset of `mnt`. */
	return (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt));
}

static __always_inline bool dir_ww_not_sticky(__u32 mode)
{
	return (mode & S_IWOTH) && !(mode & S_ISVTX);
}

/*
 * Cheap facts about bprm->file, read before the rate limiter so that it can let
 * suspicious execs through: the file's inode, and its directory (d_parent; for a
 * memfd the dentry is its own parent, and ANON says so). Returns the flag bits.
 */
static __always_inline __u32 exe_facts(struct file *f, struct tsbpf_exec_event *e)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	struct dentry *root = BPF_CORE_READ(f, f_path.mnt, mnt_root);
	struct inode *ino = BPF_CORE_READ(d, d_inode);
	struct inode *dino = BPF_CORE_READ(parent, d_inode);
	__u32 flags = 0;

	e->exe_mode = BPF_CORE_READ(ino, i_mode);
	e->exe_uid = BPF_CORE_READ(ino, i_uid.val);
	e->exe_nlink = BPF_CORE_READ(ino, i_nlink);
	e->exe_fs_magic = (__u32)BPF_CORE_READ(ino, i_sb, s_magic);
	e->dir_mode = BPF_CORE_READ(dino, i_mode);
	e->dir_uid = BPF_CORE_READ(dino, i_uid.val);
	e->_reserved = 0;
	if (e->exe_nlink == 0)
		flags |= TSBPF_EXEC_EXE_UNLINKED;
	/* d_alloc_pseudo() (alloc_file_pseudo: memfd_create, shmem_file_setup) makes a
	 * dentry that is its own parent without being the root of its mount. */
	if (parent == d && d != root)
		flags |= TSBPF_EXEC_EXE_ANON;
	if (flags || (e->dir_mode & S_IWOTH))
		flags |= TSBPF_EXEC_SUSPICIOUS;
	return flags;
}

/* State of the dentry walk, shared with the bpf_loop() callback (on the stack). */
struct exe_walk {
	struct tsbpf_scratch *s;
	struct dentry *d;
	struct mount *m;
	__u32 pos;     /* s->path[pos..TSBPF_EXE_MAX) holds the path built so far */
	__u32 names;   /* components written */
	__u32 done;    /* reached the namespace root (or a pseudo file's own root) */
	__u32 crossed; /* d is a mountpoint just crossed to (not a visible directory) */
	__u32 flags;   /* TSBPF_EXEC_EXE_ANCESTOR_WW */
	__u32 _pad;
};

/* One step up the chain: a mount crossing or one component. 1 = stop. */
static long exe_walk_step(__u32 i, void *ctx)
{
	struct exe_walk *w = ctx;
	struct tsbpf_scratch *s = w->s;
	struct dentry *d = w->d, *root, *parent;
	struct mount *m = w->m;
	const unsigned char *name;
	__u32 len, pos = w->pos;

	/* Directories above the exe's own: is one world-writable without sticky?
	 * (A mount's root is the visible directory, not the mountpoint it covers.) */
	if (w->names >= 2 && !w->crossed && dir_ww_not_sticky(BPF_CORE_READ(d, d_inode, i_mode)))
		w->flags |= TSBPF_EXEC_EXE_ANCESTOR_WW;
	w->crossed = 0;
	root = BPF_CORE_READ(m, mnt.mnt_root);
	if (d == root) {
		struct mount *pm = BPF_CORE_READ(m, mnt_parent);

		if (pm == m) { /* the namespace's root mount */
			w->done = 1;
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = pm;
		w->crossed = 1;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (len > TSBPF_NAME_MAX)
		len = TSBPF_NAME_MAX;
	if (pos < len + 1 || pos >= TSBPF_EXE_MAX)
		return 1;
	pos -= len;
	pos &= TSBPF_EXE_MAX - 1;
	bpf_probe_read_kernel(&s->path[pos], len & TSBPF_NAME_MAX, name);
	pos -= 1;
	pos &= TSBPF_EXE_MAX - 1;
	s->path[pos] = '/';
	w->pos = pos;
	w->names++;
	if (parent == d) { /* a pseudo file's own root: "/memfd:name" */
		w->done = 1;
		return 1;
	}
	w->d = parent;
	return 0;
}

/*
 * The path of `f` from its dentry chain, crossing mounts up to the root of the
 * mount namespace (like d_path(), but not stopped by a chroot: the walk shows
 * where the file really is). bpf_d_path() is not allowed in tp_btf programs, so
 * this is a bounded walk, run by bpf_loop() (5.17+) so the verifier checks one
 * step, not every depth; the kernel's rename lock is not taken, so a rename racing
 * with the exec can give a mixed path, as /proc/PID/exe can. Writes the path with
 * its NUL to dst (capacity TSBPF_EXE_MAX) and returns its length, or 0 (unknown:
 * also on kernels without bpf_loop, where the dead branch is never verified).
 */
static __always_inline __u32 exe_path(struct tsbpf_scratch *s, __u8 *dst, struct file *f,
				      __u32 *flags)
{
	struct exe_walk w = {};
	__u32 len, pos;

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))
		return 0;
	w.s = s;
	w.d = BPF_CORE_READ(f, f_path.dentry);
	w.m = real_mount(BPF_CORE_READ(f, f_path.mnt));
	w.pos = TSBPF_EXE_MAX - 1;
	s->path[TSBPF_EXE_MAX - 1] = 0;
	bpf_loop(TSBPF_PATH_DEPTH, exe_walk_step, &w, 0);
	*flags |= w.flags;
	if (!w.done)
		*flags |= TSBPF_EXEC_EXE_TRUNCATED;
	pos = w.pos;
	if (pos >= TSBPF_EXE_MAX - 1) { /* nothing written: the file is a mount root */
		pos = TSBPF_EXE_MAX - 2;
		s->path[pos] = '/';
	}
	len = TSBPF_EXE_MAX - pos;
	if (len > TSBPF_EXE_MAX)
		return 0;
	if (bpf_probe_read_kernel(dst, len, &s->path[pos & (TSBPF_EXE_MAX - 1)]))
		return 0;
	return len;
}

/* Copy the user range [start, end) into buf, up to `limit` bytes. Returns bytes copied. */
static __always_inline __u32 read_user_area(__u8 *dst, __u64 start, __u64 end, __u32 limit,
					    __u32 *full, __u32 *flags, __u32 trunc_flag,
					    __u32 fail_flag)
{
	__u64 size = end > start ? end - start : 0;
	__u32 n;

	if (size > 0xffffffffULL)
		size = 0xffffffffULL;
	*full = size;
	n = size > limit ? limit : size;
	if (n < size)
		*flags |= trunc_flag;
	if (n && bpf_probe_read_user(dst, n, (const void *)start)) {
		*flags |= fail_flag;
		return 0;
	}
	return n;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 args_limit = max_args_bytes < TSBPF_ARGS_MAX ? max_args_bytes : TSBPF_ARGS_MAX;
	__u32 env_limit = max_env_bytes < TSBPF_ENV_MAX ? max_env_bytes : TSBPF_ENV_MAX;
	const char *filename, *interp;
	struct tsbpf_exec_event *e;
	struct tsbpf_scratch *s;
	struct mm_struct *mm;
	struct file *file;
	__u32 off, len, flags = 0;
	__u64 cgid;
	long n;

	/* The exec succeeded: the failed-exec entry of the calling thread (its tid
	 * was old_pid; it is tgid now) must not outlive it. */
	if (trace_failed_exec) {
		__u32 k = old_pid;

		bpf_map_delete_elem(&exec_args, &k);
	}
	if (filter_descendants && !is_tracked(tgid))
		return 0;
	cgid = bpf_get_current_cgroup_id();
	if (!pass_filters(p, cgid))
		return 0;

	s = scratch_get(TSBPF_EV_EXEC);
	if (!s)
		return 0;
	e = (void *)s->buf;
	file = BPF_CORE_READ(bprm, file);
	flags = exe_facts(file, e);
	/* An exec the pre-filter marks suspicious is never rate-limited: otherwise a
	 * flood of harmless execs would let the one that matters through unseen. */
	if (!(flags & TSBPF_EXEC_SUSPICIOUS) &&
	    !rate_allow(rate_limit_by_parent ? BPF_CORE_READ(p, real_parent, tgid) : cgid,
			TSBPF_EV_EXEC)) {
		scratch_put(s);
		return 0;
	}

	/* filename */
	off = TSBPF_EXEC_FIXED;
	filename = BPF_CORE_READ(bprm, filename);
	n = bpf_probe_read_kernel_str(s->buf + off, TSBPF_FILENAME_MAX, filename);
	len = n > 0 ? n : 0;
	if (len > TSBPF_FILENAME_MAX)
		len = TSBPF_FILENAME_MAX;
	if (len == TSBPF_FILENAME_MAX)
		flags |= TSBPF_EXEC_FILENAME_TRUNCATED; /* may have been cut at the buffer end */
	e->filename_len = len;
	off += len;

	/* interp: only when it differs from filename (#! scripts, binfmt_misc) */
	interp = BPF_CORE_READ(bprm, interp);
	len = 0;
	if (interp && interp != filename) {
		n = bpf_probe_read_kernel_str(s->buf + off, TSBPF_FILENAME_MAX, interp);
		len = n > 0 ? n : 0;
		if (len > TSBPF_FILENAME_MAX)
			len = TSBPF_FILENAME_MAX;
		if (len == TSBPF_FILENAME_MAX)
			flags |= TSBPF_EXEC_INTERP_TRUNCATED;
	}
	e->interp_len = len;
	off += len;

	/* exe: the file the kernel executed, from its dentry chain */
	if (off > TSBPF_EXEC_FIXED + 2 * TSBPF_FILENAME_MAX) /* cannot happen: the bound */
		off = TSBPF_EXEC_FIXED + 2 * TSBPF_FILENAME_MAX;
	len = exe_path(s, s->buf + off, file, &flags);
	if (len > TSBPF_EXE_MAX)
		len = TSBPF_EXE_MAX;
	e->exe_len = len;
	off += len;

	/* argv and env from the NEW mm (current's, after exec_mmap); user memory. */
	mm = BPF_CORE_READ(p, mm);
	len = read_user_area(s->buf + off, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end),
			     args_limit, &e->args_size, &flags, TSBPF_EXEC_ARGS_TRUNCATED,
			     TSBPF_EXEC_ARGS_READ_FAILED);
	if (len > TSBPF_ARGS_MAX)
		len = TSBPF_ARGS_MAX;
	e->args_len = len;
	off += len;

	len = 0;
	e->env_size = 0;
	if (capture_env) {
		flags |= TSBPF_EXEC_ENV_CAPTURED;
		len = read_user_area(s->buf + off, BPF_CORE_READ(mm, env_start),
				     BPF_CORE_READ(mm, env_end), env_limit, &e->env_size, &flags,
				     TSBPF_EXEC_ENV_TRUNCATED, TSBPF_EXEC_ENV_READ_FAILED);
		if (len > TSBPF_ENV_MAX)
			len = TSBPF_ENV_MAX;
	}
	e->env_len = len;
	off += len;

	e->old_pid = old_pid;
	e->argc = BPF_CORE_READ(bprm, argc);
	e->envc = BPF_CORE_READ(bprm, envc);
	e->flags = flags;
	fill_hdr(&e->hdr, p, TSBPF_EV_EXEC, off, cgid);

	if (off > TSBPF_SCRATCH_SIZE) /* cannot happen; tells the verifier the bound */
		off = TSBPF_SCRATCH_SIZE;
	if (emit_failed(EV_OUTPUT(ctx, s->buf, off)))
		count(&lost, TSBPF_EV_EXEC);
	scratch_put(s);
	return 0;
}

/* ---- failed exec (trace_failed_exec) ---- */

static __always_inline int exec_enter(const char *filename, __s32 dfd, __u32 at_flags,
				      enum tsbpf_exec_syscall sc)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct tsbpf_exec_start st = {};
	__u32 tid = (__u32)pid_tgid;

	if (!trace_failed_exec)
		return 0;
	if (filter_descendants && !is_tracked(pid_tgid >> 32))
		return 0;
	if (!pass_filters(t, bpf_get_current_cgroup_id()))
		return 0;
	st.filename_ptr = (__u64)filename;
	st.dfd = dfd;
	st.at_flags = at_flags;
	st.syscall = sc;
	bpf_map_update_elem(&exec_args, &tid, &st, BPF_ANY);
	return 0;
}

static __always_inline int exec_exit(void *ctx, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct tsbpf_exec_failed_event *e;
	struct tsbpf_exec_start *stp, st;
	struct tsbpf_scratch *s;
	__u32 off, len, flags = 0;
	__u64 cgid;
	long n;

	if (!trace_failed_exec)
		return 0;
	stp = bpf_map_lookup_elem(&exec_args, &tid);
	if (!stp)
		return 0;
	st = *stp;
	bpf_map_delete_elem(&exec_args, &tid);
	if (ret >= 0)
		return 0;
	cgid = bpf_get_current_cgroup_id();
	if (!rate_allow(rate_limit_by_parent ? BPF_CORE_READ(t, real_parent, tgid) : cgid,
			TSBPF_EV_EXEC_FAILED))
		return 0;

	s = scratch_get(TSBPF_EV_EXEC_FAILED);
	if (!s)
		return 0;
	e = (void *)s->buf;
	off = sizeof(*e);
	/* A failed exec keeps the old mm, so the user's path is still readable. */
	n = bpf_probe_read_user_str(s->buf + off, TSBPF_FILENAME_MAX, (const void *)st.filename_ptr);
	len = n > 0 ? n : 0;
	if (len > TSBPF_FILENAME_MAX)
		len = TSBPF_FILENAME_MAX;
	if (len == TSBPF_FILENAME_MAX)
		flags |= TSBPF_EXEC_FILENAME_TRUNCATED;
	off += len;

	e->error = -ret;
	e->syscall = st.syscall;
	e->dfd = st.dfd;
	e->at_flags = st.at_flags;
	e->filename_len = len;
	e->flags = flags;
	fill_hdr(&e->hdr, t, TSBPF_EV_EXEC_FAILED, off, cgid);
	if (off > TSBPF_SCRATCH_SIZE)
		off = TSBPF_SCRATCH_SIZE;
	if (emit_failed(EV_OUTPUT(ctx, s->buf, off)))
		count(&lost, TSBPF_EV_EXEC_FAILED);
	scratch_put(s);
	return 0;
}

/* syscalls/sys_enter_execve: filename, argv, envp */
SEC("tracepoint/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[0], AT_FDCWD, 0, TSBPF_SYSCALL_EXECVE);
}

/* syscalls/sys_enter_execveat: fd, filename, argv, envp, flags */
SEC("tracepoint/syscalls/sys_enter_execveat")
int handle_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter((const char *)ctx->args[1], (__s32)ctx->args[0], (__u32)ctx->args[4],
			  TSBPF_SYSCALL_EXECVEAT);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int handle_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx, ctx->ret);
}

/* ---- exit ---- */

/*
 * kernel/exit.c do_exit(): `group_dead = atomic_dec_and_test(&tsk->signal->live)`
 * runs before exit_mm() and trace_sched_process_exit(), so at this tracepoint
 * live == 0 means no thread of the group is left: the process is gone. Two
 * threads racing through do_exit can both read 0 here (one decremented, the
 * other reached 0, both then hit the tracepoint), hence the exit_seen claim.
 *
 * Since 6.16 the tracepoint passes do_exit()'s own group_dead as its second
 * argument (trace_sched_process_exit(tsk, group_dead)): exactly one thread of a
 * group gets true, so no claim is needed and an exit does no map work at all. The
 * CO-RE type match below is constant after relocation; on older kernels the
 * verifier never walks the ctx[1] load (a tp_btf program may only read the
 * arguments the tracepoint has) and the live/exit_seen path is used.
 */
typedef void (*btf_trace_sched_process_exit___group_dead)(void *, struct task_struct *, bool);

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	/* Plain loads through the BTF-typed argument (see handle_fork): every thread
	 * exit runs this far only to be dropped. */
	__u32 tid = p->pid;
	bool has_group_dead = bpf_core_type_matches(btf_trace_sched_process_exit___group_dead);
	bool group_dead = has_group_dead ? (bool)ctx[1] : p->signal->live.counter == 0;
	enum tsbpf_event_type type = group_dead ? TSBPF_EV_EXIT : TSBPF_EV_THREAD_EXIT;
	struct task_struct *subject;
	struct tsbpf_exit_event *e;
	__u32 tgid, sflags, status, flags = 0;
	__u64 cgid;

	if (trace_failed_exec) /* a thread killed in the middle of exec */
		bpf_map_delete_elem(&exec_args, &tid);
	if (!group_dead && !trace_threads)
		return 0;
	tgid = BPF_CORE_READ(p, tgid);
	subject = group_dead ? BPF_CORE_READ(p, group_leader) : p;
	if (filter_descendants) {
		if (!is_tracked(tgid))
			return 0;
		if (group_dead)
			bpf_map_delete_elem(&tracked, &tgid);
	}
	cgid = bpf_get_current_cgroup_id();
	if (!pass_filters(p, cgid))
		return 0;
	if (group_dead && !has_group_dead) {
		struct tsbpf_exit_key k = { .tgid = tgid, .exec_id = task_exec_id(p) };
		__u8 one = 1;

		if (bpf_map_update_elem(&exit_seen, &k, &one, BPF_NOEXIST))
			return 0; /* another thread of this group already reported it */
	}
	/* Exits are never rate-limited: a missing exit would break the process tree. */

	/* wait(2) status, as wait_task_zombie() computes it: the group exit code
	 * when the whole group was taken down (exit_group, fatal signal), else the
	 * group leader's own exit_code (for a thread event: the thread's). */
	sflags = BPF_CORE_READ(p, signal, flags);
	if (sflags & SIGNAL_GROUP_EXIT) {
		status = BPF_CORE_READ(p, signal, group_exit_code);
		flags |= TSBPF_EXIT_GROUP_EXIT;
	} else {
		status = BPF_CORE_READ(subject, exit_code);
	}

	EV_BEGIN(e, type);
	fill_hdr(&e->hdr, p, type, sizeof(*e), cgid);
	/* start_time is CLOCK_MONOTONIC (ktime_get_ns() in copy_process). */
	e->lifetime_ns = bpf_ktime_get_ns() - BPF_CORE_READ(subject, start_time);
	e->status = status;
	e->flags = flags;
	e->exit_signal = BPF_CORE_READ(subject, exit_signal);
	e->_reserved = 0;
	EV_SUBMIT(ctx, e, type);
	return 0;
}
