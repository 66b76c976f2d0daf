// tsbpf-cflags: -mcpu=v3
/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * process_perf.bpf.c: the tracer of process.bpf.c, writing its records through a
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY (bpf_perf_event_output) instead of a ring buffer.
 * src/tracker picks this object when the kernel has no BPF_MAP_TYPE_RINGBUF
 * (Linux < 5.8), or when TSBPF_FORCE_PERF=1. Records are byte-identical.
 */
#define TSBPF_OUTPUT_PERF 1
#include "process.bpf.c"
