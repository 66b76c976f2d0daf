/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * process.h: the wire format between bpf/process.bpf.c and tsbpf's user space.
 *
 * Every record sent through the `events` ring buffer is
 *
 *     struct tsbpf_event_hdr      (fixed, 96 bytes, identical for all types)
 *     per-type fixed fields       (the rest of struct tsbpf_<type>_event)
 *     variable tail               (only exec / exec_failed; lengths are in the
 *                                  fixed part, so no terminator is needed)
 *
 * hdr.size is the total record length (header + fixed part + tail). User space
 * decodes these structs through the object's BTF (the `tsbpf_record_types`
 * anchor in process.bpf.c makes clang emit them), so member names here ARE the
 * API: rename nothing without updating docs/events-wire.md.
 *
 * All integers are native-endian (x86-64: little endian). Every struct is laid
 * out with u64 members first, so there is no hidden padding.
 */
#ifndef __TSBPF_PROCESS_H__
#define __TSBPF_PROCESS_H__

/* Event type numbers (hdr.type). Stable: user space switches on them. */
enum tsbpf_event_type {
	TSBPF_EV_FORK = 1,        /* new process (fork/vfork/clone without CLONE_THREAD) */
	TSBPF_EV_THREAD = 2,      /* new thread (clone with CLONE_THREAD); only if trace_threads */
	TSBPF_EV_EXEC = 3,        /* successful execve/execveat */
	TSBPF_EV_EXEC_FAILED = 4, /* execve/execveat returned < 0; only if trace_failed_exec */
	TSBPF_EV_EXIT = 5,        /* process exit: the last thread of the group died */
	TSBPF_EV_THREAD_EXIT = 6, /* one thread exited (group still alive); only if trace_threads */
	TSBPF_EV_MAX = 7,         /* size of the per-type counter arrays (index 0 unused) */
};

/* Bits of tsbpf_exec_event.flags. */
enum tsbpf_exec_flags {
	TSBPF_EXEC_ARGS_TRUNCATED = 1 << 0,     /* argv area longer than max_args_bytes */
	TSBPF_EXEC_ENV_CAPTURED = 1 << 1,       /* env_len bytes of environment follow argv */
	TSBPF_EXEC_ENV_TRUNCATED = 1 << 2,      /* environment longer than max_env_bytes */
	TSBPF_EXEC_FILENAME_TRUNCATED = 1 << 3, /* filename longer than TSBPF_FILENAME_MAX - 1 */
	TSBPF_EXEC_INTERP_TRUNCATED = 1 << 4,   /* interp longer than TSBPF_FILENAME_MAX - 1 */
	TSBPF_EXEC_ARGS_READ_FAILED = 1 << 5,   /* reading argv from user memory failed: args_len = 0 */
	TSBPF_EXEC_ENV_READ_FAILED = 1 << 6,    /* reading env from user memory failed: env_len = 0 */
	TSBPF_EXEC_EXE_TRUNCATED = 1 << 7,      /* exe path deeper/longer than the walk's bounds: its
						 * leading components are missing (it does not start at /) */
	TSBPF_EXEC_EXE_UNLINKED = 1 << 8,       /* the executed file has no link left (i_nlink == 0):
						 * deleted, O_TMPFILE or memfd */
	TSBPF_EXEC_EXE_ANON = 1 << 9,           /* the file has no path at all (its dentry is its own
						 * parent and not a mount root): memfd_create, shmem pseudo files */
	TSBPF_EXEC_EXE_ANCESTOR_WW = 1 << 10,   /* a directory above the exe's own directory is
						 * world-writable and not sticky (anyone could swap the subtree) */
	TSBPF_EXEC_SUSPICIOUS = 1 << 11,        /* the kernel's pre-filter: exe's directory world-writable,
						 * or UNLINKED/ANON. Such execs are never rate-limited */
};

/* Bits of tsbpf_exit_event.flags. */
enum tsbpf_exit_flags {
	TSBPF_EXIT_GROUP_EXIT = 1 << 0, /* SIGNAL_GROUP_EXIT was set: status is signal->group_exit_code */
};

/* Which syscall an exec_failed event came from (tsbpf_exec_failed_event.syscall). */
enum tsbpf_exec_syscall {
	TSBPF_SYSCALL_EXECVE = 0,
	TSBPF_SYSCALL_EXECVEAT = 1,
};

/* Compile-time capacities of the variable tail (the .rodata limits are clamped to these). */
#define TSBPF_FILENAME_MAX 4096 /* PATH_MAX, including the NUL */
#define TSBPF_ARGS_MAX 32768    /* upper bound for .rodata max_args_bytes */
#define TSBPF_ENV_MAX 32768     /* upper bound for .rodata max_env_bytes */
#define TSBPF_EXE_MAX 4096      /* capacity of the resolved exe path, including the NUL */

/*
 * Common header: identity of the task the event is ABOUT (for fork/thread: the
 * new child; otherwise the current task).
 */
struct tsbpf_event_hdr {
	__u64 ts_boot_ns;     /* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME, counts suspend */
	__u64 cgroup_id;      /* cgroup v2 id (kernfs node id) of the task */
	__u64 exec_id;        /* group leader's start_boottime (ns): (pid, exec_id) is unique across pid reuse */
	__u64 parent_exec_id; /* exec_id of real_parent's group leader */
	enum tsbpf_event_type type; /* 4 bytes */
	__u32 size;      /* total record length in bytes (header + fixed part + tail) */
	__u32 pid;       /* tgid (the process id, as seen from the initial pid namespace) */
	__u32 tid;       /* task id (== pid for the main thread) */
	__u32 ppid;      /* real_parent->tgid, read when the event happens (so reparenting shows) */
	__u32 uid;       /* real_cred->uid (real uid, initial user namespace) */
	__u32 gid;       /* real_cred->gid */
	__u32 euid;      /* real_cred->euid */
	__u32 pidns_ino; /* inode number of the task's OWN pid namespace (thread_pid level ns) */
	__u32 ns_pid;    /* the process id as seen inside that namespace */
	__u32 ns_tid;    /* the task id as seen inside that namespace */
	__u32 cpu;       /* CPU that produced the event */
	char comm[16];   /* task->comm (TASK_COMM_LEN), NUL-padded; after exec it is the new name */
};

/* TSBPF_EV_FORK / TSBPF_EV_THREAD. hdr describes the CHILD. */
struct tsbpf_fork_event {
	struct tsbpf_event_hdr hdr;
	__u32 parent_pid; /* tgid of the task that called fork/clone (differs from hdr.ppid
			   * with CLONE_PARENT, and for threads, whose real_parent is the group's parent) */
	__u32 parent_tid; /* the calling thread */
};

/*
 * TSBPF_EV_EXEC. hdr describes the task after exec (new comm, new credentials).
 * Tail, in this order, with no separators between the parts:
 *   filename[filename_len]  bprm->filename incl. its NUL (as passed to execve, or
 *                           "/dev/fd/N[/name]" for execveat)
 *   interp[interp_len]      bprm->interp incl. NUL; interp_len == 0 means "same as filename"
 *                           (they differ for #! scripts and binfmt_misc)
 *   exe[exe_len]            path of the file the kernel executed (bprm->file, the
 *                           interpreter for #! scripts), built from its dentry chain across
 *                           mounts up to the mount namespace's root, incl. NUL; 0 = unknown
 *   args[args_len]          argv strings, each NUL-terminated, exactly as in the new
 *                           process's memory (mm->arg_start..arg_end); if
 *                           TSBPF_EXEC_ARGS_TRUNCATED the last string may lack its NUL
 *   env[env_len]            same for the environment (only with TSBPF_EXEC_ENV_CAPTURED)
 */
struct tsbpf_exec_event {
	struct tsbpf_event_hdr hdr;
	__u32 old_pid;      /* tid that called exec (!= hdr.tid when a non-leader thread exec'd) */
	__u32 argc;         /* real argument count (bprm->argc), even when args are truncated */
	__u32 envc;         /* real environment count (bprm->envc) */
	__u32 args_size;    /* full size of the argv area in bytes (arg_end - arg_start) */
	__u32 env_size;     /* full size of the env area (env_end - env_start); 0 unless captured */
	__u32 filename_len; /* bytes of filename in the tail (incl. NUL) */
	__u32 interp_len;   /* bytes of interp in the tail (incl. NUL), 0 = same as filename */
	__u32 args_len;     /* bytes of argv in the tail (<= max_args_bytes) */
	__u32 env_len;      /* bytes of env in the tail (<= max_env_bytes) */
	__u32 flags;        /* enum tsbpf_exec_flags bits */
	__u32 exe_len;      /* bytes of exe in the tail (incl. NUL); 0 if bprm->file was unreadable */
	__u32 exe_mode;     /* i_mode of the executed file (type and permission bits) */
	__u32 exe_uid;      /* owner of the executed file (initial user namespace) */
	__u32 exe_nlink;    /* i_nlink of the executed file: 0 = deleted, O_TMPFILE or memfd */
	__u32 dir_mode;     /* i_mode of the directory holding the file (its dentry's d_parent) */
	__u32 dir_uid;      /* owner of that directory */
	__u32 exe_fs_magic; /* s_magic of the file's super block (low 32 bits), e.g. TMPFS_MAGIC */
	__u32 _reserved;    /* always 0 (keeps the tail 8-byte aligned) */
	/* tail starts here: offsetof(struct tsbpf_exec_event, tail) == sizeof(struct tsbpf_exec_event) */
	char tail[];
};

/*
 * TSBPF_EV_EXEC_FAILED. hdr describes the calling task (unchanged by the failed exec).
 * Tail: filename[filename_len], the user's path argument incl. NUL.
 */
struct tsbpf_exec_failed_event {
	struct tsbpf_event_hdr hdr;
	__s32 error;        /* positive errno (-return value), e.g. 2 = ENOENT */
	enum tsbpf_exec_syscall syscall; /* 4 bytes */
	__s32 dfd;          /* execveat dirfd (AT_FDCWD = -100); -100 for execve */
	__u32 at_flags;     /* execveat flags (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW); 0 for execve */
	__u32 filename_len; /* bytes of filename in the tail (incl. NUL); 0 if unreadable */
	__u32 flags;        /* TSBPF_EXEC_FILENAME_TRUNCATED */
	char tail[];
};

/*
 * TSBPF_EV_EXIT / TSBPF_EV_THREAD_EXIT. hdr describes the exiting task (for
 * TSBPF_EV_EXIT: the last thread of the group; hdr.pid is the process id).
 */
struct tsbpf_exit_event {
	struct tsbpf_event_hdr hdr;
	__u64 lifetime_ns; /* bpf_ktime_get_ns() - start_time (CLOCK_MONOTONIC) of the group leader
			    * (process exit) or of the thread (thread exit) */
	__u32 status;      /* raw wait(2)-style status: signal = status & 0x7f,
			    * core dumped = status & 0x80, exit code = (status >> 8) & 0xff */
	__u32 flags;       /* enum tsbpf_exit_flags bits */
	__s32 exit_signal; /* signal the parent gets (task->exit_signal, normally SIGCHLD=17; -1 for threads) */
	__u32 _reserved;   /* always 0 */
};

/*
 * Value of the `rate` LRU hash (key: u64 cgroup id, or parent tgid when
 * rate_limit_by_parent): GCRA token bucket state (one u64, no lock needed; a
 * lost race between CPUs only lets one extra event through).
 */
struct tsbpf_rate_state {
	__u64 tat_ns; /* "theoretical arrival time" of the next conforming event (ktime ns) */
};

/* Value of the `exec_args` LRU hash (key: u32 tid): sys_enter_execve* -> sys_exit_execve*. */
struct tsbpf_exec_start {
	__u64 filename_ptr; /* user pointer to the path (still valid when exec fails: old mm kept) */
	__s32 dfd;
	__u32 at_flags;
	enum tsbpf_exec_syscall syscall;
	__u32 _reserved;
};

#endif /* __TSBPF_PROCESS_H__ */
