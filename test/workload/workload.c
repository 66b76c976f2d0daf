// SPDX-License-Identifier: MIT
/*
 * workload.c: the tracer oracle. It produces process events whose every detail
 * it knows (pids from fork()/gettid() return values, statuses from waitpid, the
 * exact argv/env bytes it passed to execve) and appends that ground truth, one
 * JSON object per line, to the file named by $TSBPF_ORACLE_TRUTH. The oracle
 * tests (test/oracle/<name>.test.ts) run it under `tsbpf trace --json` and compare.
 *
 * Usage: workload all | SCENARIO...      run scenarios, write truth
 *        workload exit N [ignored...]    _exit(N) (the target of our execs)
 *        workload sleep                  sleep until killed, fork on SIGUSR1 (pre-existing process)
 *
 * Each truth line is written with ONE write(2) on an O_APPEND fd, so lines from
 * several processes never interleave. Byte strings (argv, env) are written as hex
 * so the test can compare them byte for byte, whatever bytes they hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_execveat
#define SYS_execveat 322 /* x86-64 */
#endif

extern char **environ;

static char self_path[PATH_MAX]; /* absolute path of this binary */
static char self_dir[PATH_MAX];
static const char *self_base;

static void die(const char *what)
{
	fprintf(stderr, "workload[%d]: %s: %s\n", getpid(), what, strerror(errno));
	_exit(99);
}

/* ---- truth lines: a tiny JSON writer ---------------------------------- */

struct line {
	char *buf;
	size_t len, cap;
	int first;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->len + n + 2 > l->cap) {
		l->cap = (l->len + n + 2) * 2;
		l->buf = realloc(l->buf, l->cap);
		if (!l->buf)
			die("realloc");
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void putf(struct line *l, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(l, tmp, (size_t)n);
}

static void key(struct line *l, const char *k)
{
	putf(l, "%s\"%s\":", l->first ? "" : ",", k);
	l->first = 0;
}

static struct line begin(const char *step)
{
	struct line l = {0};
	l.first = 1;
	put(&l, "{", 1);
	key(&l, "step");
	putf(&l, "\"%s\"", step);
	return l;
}

static void num(struct line *l, const char *k, long long v)
{
	key(l, k);
	putf(l, "%lld", v);
}

/* k: ASCII-only string (paths we built ourselves). */
static void str(struct line *l, const char *k, const char *v)
{
	key(l, k);
	putf(l, "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			die("str(): non-ASCII truth string");
		put(l, p, 1);
	}
	putf(l, "\"");
}

/* k: array of byte strings as lowercase hex. */
static void hexv(struct line *l, const char *k, char *const v[])
{
	static const char digits[] = "0123456789abcdef";
	key(l, k);
	put(l, "[", 1);
	for (int i = 0; v[i]; i++) {
		put(l, i ? ",\"" : "\"", i ? 2 : 1);
		for (const unsigned char *p = (const unsigned char *)v[i]; *p; p++) {
			char h[2] = {digits[*p >> 4], digits[*p & 15]};
			put(l, h, 2);
		}
		put(l, "\"", 1);
	}
	put(l, "]", 1);
}

static void numv(struct line *l, const char *k, const long *v, int n)
{
	key(l, k);
	put(l, "[", 1);
	for (int i = 0; i < n; i++)
		putf(l, "%s%ld", i ? "," : "", v[i]);
	put(l, "]", 1);
}

static void end(struct line *l)
{
	put(l, "}\n", 2);
	const char *path = getenv("TSBPF_ORACLE_TRUTH");
	if (!path) {
		errno = EINVAL;
		die("TSBPF_ORACLE_TRUTH is not set");
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open truth file");
	if (write(fd, l->buf, l->len) != (ssize_t)l->len)
		die("write truth");
	close(fd);
	free(l->buf);
}

/* ---- helpers ---------------------------------------------------------- */

static pid_t xfork(void)
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	return p;
}

static int xwait(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			die("waitpid");
	return st;
}

static unsigned long ns_inode(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		die(path);
	return (unsigned long)sb.st_ino;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A child-side record of a finished fork+exec: pid, parent, status, what was passed. */
static void record_exec(const char *step, pid_t pid, int st, const char *filename, char *const argv[],
			char *const envp[])
{
	struct line l = begin(step);
	num(&l, "pid", pid);
	num(&l, "ppid", getpid());
	num(&l, "status", st);
	str(&l, "filename", filename);
	hexv(&l, "argv", argv);
	if (envp)
		hexv(&l, "env", envp);
	end(&l);
}

/* fork, execve(path, argv, envp) in the child, wait, record. */
static void fork_exec(const char *step, const char *path, char *const argv[], char *const envp[])
{
	pid_t c = xfork();
	if (c == 0) {
		execve(path, argv, envp ? envp : environ);
		die("execve");
	}
	record_exec(step, c, xwait(c), path, argv, envp);
}

/* ---- scenarios -------------------------------------------------------- */

static void s_fork_noexec(void)
{
	pid_t c = xfork();
	if (c == 0)
		_exit(0);
	struct line l = begin("fork_noexec");
	num(&l, "pid", c);
	num(&l, "ppid", getpid());
	num(&l, "status", xwait(c));
	end(&l);
}

/* Exit codes 0/1/3/255, each by fork+execve of ourselves in "exit N" mode. */
static void s_exit_codes(void)
{
	static const char *codes[] = {"0", "1", "3", "255"};
	for (int i = 0; i < 4; i++) {
		char *argv[] = {"wl-exit", "exit", (char *)codes[i], NULL};
		fork_exec("exit_code", self_path, argv, NULL);
	}
}

/* execveat(dirfd, "workload", ...): the kernel names it "/dev/fd/<dirfd>/workload". */
static void s_execveat_dirfd(void)
{
	int dfd = open(self_dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die("open self dir");
	char *argv[] = {"wl-at-dir", "exit", "0", NULL};
	pid_t c = xfork();
	if (c == 0) {
		syscall(SYS_execveat, dfd, self_base, argv, environ, 0);
		die("execveat(dirfd)");
	}
	char fn[PATH_MAX];
	snprintf(fn, sizeof(fn), "/dev/fd/%d/%s", dfd, self_base);
	record_exec("execveat_dirfd", c, xwait(c), fn, argv, NULL);
	close(dfd);
}

/* execveat(fd, "", ..., AT_EMPTY_PATH): the kernel names it "/dev/fd/<fd>". */
static void s_execveat_empty(void)
{
	int fd = open(self_path, O_RDONLY);
	if (fd < 0)
		die("open self");
	char *argv[] = {"wl-at-empty", "exit", "0", NULL};
	pid_t c = xfork();
	if (c == 0) {
		syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
		die("execveat(AT_EMPTY_PATH)");
	}
	char fn[64];
	snprintf(fn, sizeof(fn), "/dev/fd/%d", fd);
	record_exec("execveat_empty", c, xwait(c), fn, argv, NULL);
	close(fd);
}

/* exec from a non-leader thread: the new image keeps the tgid; old_pid = the thread. */
static void *thread_exec_main(void *arg)
{
	(void)arg;
	char *argv[] = {"wl-thr-exec", "exit", "4", NULL};
	struct line l = begin("thread_exec");
	num(&l, "pid", getpid());
	num(&l, "tid", gettid());
	str(&l, "filename", self_path);
	hexv(&l, "argv", argv);
	end(&l);
	execve(self_path, argv, environ);
	die("execve from thread");
	return NULL;
}

static void s_thread_exec(void)
{
	pid_t c = xfork();
	if (c == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_exec_main, NULL))
			die("pthread_create");
		for (;;)
			pause(); /* de_thread() kills us when the thread execs */
	}
	struct line l = begin("thread_exec_status");
	num(&l, "pid", c);
	num(&l, "ppid", getpid());
	num(&l, "status", xwait(c));
	end(&l);
}

/*
 * Threads: three threads start and exit (joined), then the leader exits FIRST
 * (SYS_exit: only the calling thread) while a fourth thread lives on and ends
 * the process with exit(5). The process exit must be reported once, by the
 * fourth thread, with exit code 5.
 */
static void *short_thread(void *arg)
{
	*(long *)arg = gettid();
	sleep_ms(20);
	return NULL;
}

static void *last_thread(void *arg)
{
	pid_t leader = *(pid_t *)arg;
	/* Wait until the leader is gone (its /proc task entry reads as a zombie). */
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", leader);
	for (int i = 0; i < 10000; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			char *rp = strrchr(buf, ')');
			if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
				break;
		}
		sleep_ms(1);
	}
	struct line l = begin("threads_last");
	num(&l, "pid", getpid());
	num(&l, "tid", gettid());
	end(&l);
	exit(5);
}

static void s_threads(void)
{
	pid_t c = xfork();
	if (c == 0) {
		long tids[3];
		pthread_t t[3];
		for (int i = 0; i < 3; i++)
			if (pthread_create(&t[i], NULL, short_thread, &tids[i]))
				die("pthread_create");
		for (int i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		struct line l = begin("threads");
		num(&l, "pid", getpid());
		numv(&l, "tids", tids, 3);
		end(&l);
		static pid_t leader;
		leader = getpid();
		pthread_t last;
		if (pthread_create(&last, NULL, last_thread, &leader))
			die("pthread_create");
		syscall(SYS_exit, 0); /* leader thread only; the process lives on */
	}
	struct line l = begin("threads_status");
	num(&l, "pid", c);
	num(&l, "ppid", getpid());
	num(&l, "status", xwait(c));
	end(&l);
}

/* Death by signal: SIGKILL, SIGTERM (no core), SIGSEGV with RLIMIT_CORE unlimited (core). */
static void s_signals(void)
{
	static const int sigs[] = {SIGKILL, SIGTERM};
	for (int i = 0; i < 2; i++) {
		int pfd[2];
		if (pipe(pfd) < 0)
			die("pipe");
		pid_t c = xfork();
		if (c == 0) {
			close(pfd[0]);
			if (write(pfd[1], "r", 1) != 1)
				die("write");
			for (;;)
				pause();
		}
		close(pfd[1]);
		char b;
		if (read(pfd[0], &b, 1) != 1) /* running: signal hits a live process */
			die("read");
		close(pfd[0]);
		kill(c, sigs[i]);
		struct line l = begin("signal");
		num(&l, "pid", c);
		num(&l, "ppid", getpid());
		num(&l, "sig", sigs[i]);
		num(&l, "status", xwait(c));
		end(&l);
	}
	pid_t c = xfork();
	if (c == 0) {
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
		if (setrlimit(RLIMIT_CORE, &rl) < 0)
			die("setrlimit");
		prctl(PR_SET_DUMPABLE, 1);
		signal(SIGSEGV, SIG_DFL);
		*(volatile int *)0 = 1; /* a real fault, as the kernel sees it */
		_exit(98);
	}
	struct line l = begin("core");
	num(&l, "pid", c);
	num(&l, "ppid", getpid());
	num(&l, "status", xwait(c));
	end(&l);
}

/* argv of 100 short arguments. */
static void s_args100(void)
{
	static char bufs[100][16];
	char *argv[101];
	argv[0] = "wl-args100";
	argv[1] = "exit";
	argv[2] = "0";
	for (int i = 3; i < 100; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "arg-%03d", i);
		argv[i] = bufs[i];
	}
	argv[100] = NULL;
	fork_exec("args100", self_path, argv, NULL);
}

/* argv of 100 arguments, ~20 KB: fits --max-args 32768, truncated at 4096. */
static void s_args20k(void)
{
	static char bufs[100][208];
	char *argv[101];
	argv[0] = "wl-args20k";
	argv[1] = "exit";
	argv[2] = "0";
	for (int i = 3; i < 100; i++) {
		int n = snprintf(bufs[i], sizeof(bufs[i]), "big%03d:", i);
		for (; n < 200; n++)
			bufs[i][n] = (char)('a' + (i + n) % 26);
		bufs[i][n] = 0;
		argv[i] = bufs[i];
	}
	argv[100] = NULL;
	fork_exec("args20k", self_path, argv, NULL);
}

/* Arguments a naive tracer mangles: spaces, newlines, UTF-8, escapes, invalid UTF-8. */
static void s_args_special(void)
{
	char *argv[] = {
		"wl special argv0",
		"exit",
		"0",
		"two words",
		"line1\nline2",
		"tab\there",
		"",
		"h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac",
		"\x1b[31mred\x1b[0m",
		"\x1b]0;title\x07",
		"\xc2\x9b" "c1-csi",
		"\xe2\x80\xae" "bidi",
		"raw\xff\xfe" "bytes",
		"quote\"back\\slash",
		"\x7f" "del",
		"",
		NULL,
	};
	fork_exec("args_special", self_path, argv, NULL);
}

/* A known environment (checked with --env). */
static void s_env(void)
{
	char var[64];
	snprintf(var, sizeof(var), "TSBPF_ORACLE_VAR=value %d", getpid());
	char *envp[] = {var, "PATH=/usr/bin:/bin", "SPACES=a b\nc", NULL};
	char *argv[] = {"wl-env", "exit", "0", NULL};
	fork_exec("env", self_path, argv, envp);
}

/*
 * A child in a new pid namespace: a helper unshare(CLONE_NEWPID)s and forks; the
 * grandchild is pid 1 (init) of the new namespace and execs ourselves.
 */
static void s_pidns(void)
{
	pid_t h = xfork();
	if (h == 0) {
		if (unshare(CLONE_NEWPID) < 0)
			die("unshare(CLONE_NEWPID)");
		char *argv[] = {"wl-pidns", "exit", "0", NULL};
		pid_t g = xfork();
		if (g == 0) {
			/* /proc is the initial namespace's procfs, so /proc/self still resolves. */
			struct line l = begin("pidns_inside");
			num(&l, "ns_pid", getpid()); /* 1: seen from inside */
			num(&l, "pidns", (long long)ns_inode("/proc/self/ns/pid"));
			end(&l);
			execve(self_path, argv, environ);
			die("execve in pidns");
		}
		int st = xwait(g);
		struct line l = begin("pidns");
		num(&l, "pid", g);
		num(&l, "ppid", getpid());
		num(&l, "status", st);
		num(&l, "parent_pidns", (long long)ns_inode("/proc/self/ns/pid"));
		end(&l);
		_exit(0);
	}
	struct line l = begin("pidns_helper");
	num(&l, "pid", h);
	num(&l, "status", xwait(h));
	end(&l);
}

/*
 * Orphan: child A forks grandchild B and exits; B is reparented to us (we are a
 * child subreaper, PR_SET_CHILD_SUBREAPER) and exits with 6 after noticing.
 */
static void s_orphan(void)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		die("pipe");
	pid_t a = xfork();
	if (a == 0) {
		close(pfd[0]);
		int rfd[2];
		if (pipe(rfd) < 0)
			die("pipe");
		pid_t b = xfork();
		if (b == 0) {
			close(pfd[1]);
			close(rfd[0]);
			pid_t first = getppid(); /* A: it waits for this byte before exiting */
			if (write(rfd[1], "r", 1) != 1)
				die("write");
			close(rfd[1]);
			for (int i = 0; i < 20000 && getppid() == first; i++)
				sleep_ms(1);
			struct line l = begin("orphan_grandchild");
			num(&l, "pid", getpid());
			num(&l, "first_ppid", first);
			num(&l, "new_ppid", getppid());
			end(&l);
			_exit(6);
		}
		close(rfd[1]);
		char r;
		if (read(rfd[0], &r, 1) != 1)
			die("read");
		if (write(pfd[1], &b, sizeof(b)) != sizeof(b))
			die("write");
		_exit(0);
	}
	close(pfd[1]);
	pid_t b;
	if (read(pfd[0], &b, sizeof(b)) != sizeof(b))
		die("read");
	close(pfd[0]);
	int sta = xwait(a);
	int stb = xwait(b); /* works only because we are B's reaper now */
	struct line l = begin("orphan");
	num(&l, "parent", a);
	num(&l, "parent_status", sta);
	num(&l, "pid", b);
	num(&l, "status", stb);
	num(&l, "reaper", getpid());
	end(&l);
}

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
	{"fork_noexec", s_fork_noexec},
	{"exit_codes", s_exit_codes},
	{"execveat_dirfd", s_execveat_dirfd},
	{"execveat_empty", s_execveat_empty},
	{"thread_exec", s_thread_exec},
	{"threads", s_threads},
	{"signals", s_signals},
	{"args100", s_args100},
	{"args20k", s_args20k},
	{"args_special", s_args_special},
	{"env", s_env},
	{"pidns", s_pidns},
	{"orphan", s_orphan},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

/*
 * The pre-existing process: sleeps until killed. Each SIGUSR1 makes it fork a
 * child that exits at once, so a test can poke it until the tracer reports the
 * fork: proof that the tracer is attached before the sleeper is killed.
 */
static volatile sig_atomic_t poked;

static void on_usr1(int sig)
{
	(void)sig;
	poked = 1;
}

static void sleeper(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	for (;;) {
		pause();
		if (poked) {
			poked = 0;
			pid_t c = xfork();
			if (c == 0)
				_exit(0);
			xwait(c);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "exit") == 0)
		_exit(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "sleep") == 0)
		sleeper();
	if (argc < 2) {
		fprintf(stderr, "usage: workload all | SCENARIO... | exit N | sleep\n");
		return 2;
	}

	alarm(120); /* never hang a test run */
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n < 0)
		die("readlink /proc/self/exe");
	self_path[n] = 0;
	strcpy(self_dir, self_path);
	char *slash = strrchr(self_dir, '/');
	*slash = 0;
	self_base = slash + 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("PR_SET_CHILD_SUBREAPER");

	struct line l = begin("self");
	num(&l, "pid", getpid());
	num(&l, "ppid", getppid());
	num(&l, "pidns", (long long)ns_inode("/proc/self/ns/pid"));
	str(&l, "path", self_path);
	end(&l);

	int all = strcmp(argv[1], "all") == 0;
	for (size_t i = 0; i < NSCEN; i++) {
		int want = all;
		for (int a = 1; a < argc && !want; a++)
			want = strcmp(argv[a], scenarios[i].name) == 0;
		if (want)
			scenarios[i].fn();
	}
	struct line d = begin("done");
	end(&d);
	return 0;
}
