// libbpf peer for bench/ringbuf.ts: loads the same producer object, sizes the ring,
// then per batch runs the `bench` producer through BPF_PROG_TEST_RUN (the ring fills)
// and times ring_buffer__poll() draining it, decoding 4 fields per record.
// Usage: consumer OBJ RECORD_SIZE(64|512) RING_BYTES BATCH NBATCHES
// Prints: records=<n> ns=<consume ns> failed=<reserve failures>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct rb_args {
	uint32_t count, seq0, discard_every, pad;
};

struct head {
	uint64_t seq, ts;
	uint32_t pid, cpu;
};

static uint64_t sum, records;

static int on_record(void *ctx, void *data, size_t len)
{
	const struct head *h = data;

	(void)ctx;
	(void)len;
	sum += h->seq + h->ts + h->pid + h->cpu;
	records++;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s OBJ RECORD_SIZE RING_BYTES BATCH NBATCHES\n", argv[0]);
		return 2;
	}
	uint32_t size = atoi(argv[2]), ring = strtoul(argv[3], 0, 0), batch = atoi(argv[4]);
	int nbatches = atoi(argv[5]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);

	if (!obj) {
		fprintf(stderr, "open %s failed\n", argv[1]);
		return 1;
	}
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "rb"), ring);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load failed\n");
		return 1;
	}
	int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "bench"));
	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb")), on_record, NULL, NULL);
	uint64_t ns = 0;

	for (int b = 0; b < nbatches; b++) {
		struct rb_args a = { .count = batch, .seq0 = b * batch, .pad = size };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));

		if (bpf_prog_test_run_opts(prog, &opts)) {
			fprintf(stderr, "test_run failed\n");
			return 1;
		}
		uint64_t t0 = now_ns();
		while (ring_buffer__poll(rb, 0) > 0)
			;
		ns += now_ns() - t0;
	}
	uint32_t key = 1;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], failed = 0;

	if (!bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "counters")), &key, vals))
		for (int i = 0; i < ncpu; i++)
			failed += vals[i];
	printf("records=%llu ns=%llu failed=%llu sum=%llu\n", (unsigned long long)records, (unsigned long long)ns,
	       (unsigned long long)failed, (unsigned long long)sum);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
