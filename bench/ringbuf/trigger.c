// Producer driver for the wakeup bench (bench/ringbuf/wakeup.ts): runs the `emit_stamp`
// SEC("syscall") program (fd 3, inherited) with BPF_PROG_TEST_RUN, one ktime-stamped
// record per run, through the raw bpf(2) syscall (no libbpf: it only generates load).
// Usage: trigger MODE DURATION_MS [INTERVAL_US]
//   periodic: one record every INTERVAL_US (absolute deadlines, CLOCK_MONOTONIC);
//   pingpong: the next record as soon as the consumer has caught up: polls the ring's
//             consumer_pos (the map fd is fd 4; consumer page mmapped read-only) against
//             the producer_pos, with sched_yield() between checks.
// Prints: runs=<n> failed=<test-run errors>
#include <linux/bpf.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct rb_args {
	uint32_t count, seq0, discard_every, pad;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int run(uint32_t seq)
{
	struct rb_args a = { .count = 1, .seq0 = seq };
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = 3;
	attr.test.ctx_in = (uint64_t)(uintptr_t)&a;
	attr.test.ctx_size_in = sizeof(a);
	return syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr));
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s periodic|pingpong DURATION_MS [INTERVAL_US]\n", argv[0]);
		return 2;
	}
	int pingpong = !strcmp(argv[1], "pingpong");
	uint64_t end = now_ns() + strtoull(argv[2], 0, 0) * 1000000ull;
	uint64_t interval = argc > 3 ? strtoull(argv[3], 0, 0) * 1000ull : 1000000ull;
	volatile uint64_t *cons = 0, *prod = 0;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t runs = 0, failed = 0;

	prctl(PR_SET_TIMERSLACK, 1UL);
	if (pingpong) {
		cons = mmap(0, page, PROT_READ, MAP_SHARED, 4, 0);
		prod = mmap(0, page, PROT_READ, MAP_SHARED, 4, page);
		if (cons == MAP_FAILED || prod == MAP_FAILED) {
			perror("mmap ring");
			return 1;
		}
	}
	uint64_t next = now_ns();
	while (now_ns() < end) {
		if (pingpong) {
			while (__atomic_load_n(cons, __ATOMIC_ACQUIRE) != __atomic_load_n(prod, __ATOMIC_ACQUIRE)) {
				if (now_ns() >= end)
					goto out;
				sched_yield();
			}
		} else {
			next += interval;
			struct timespec ts = { .tv_sec = next / 1000000000ull, .tv_nsec = next % 1000000000ull };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, 0);
		}
		if (run((uint32_t)runs))
			failed++;
		runs++;
	}
out:
	printf("runs=%llu failed=%llu\n", (unsigned long long)runs, (unsigned long long)failed);
	return 0;
}
