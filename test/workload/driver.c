// SPDX-License-Identifier: MIT
/*
 * driver.c: the completeness workload. `driver N [PATH]` runs N rounds of
 * fork + execv(PATH, {PATH}) + waitpid, PATH defaulting to /bin/true, and prints
 * "rounds=N ok=K" (K = children that exited 0) so the test knows how many
 * fork/exec/exit events the tracer must account for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: driver N [PATH]\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	const char *path = argc > 2 ? argv[2] : "/bin/true";
	long ok = 0;
	for (long i = 0; i < n; i++) {
		pid_t c = fork();
		if (c < 0) {
			fprintf(stderr, "driver: fork: %s\n", strerror(errno));
			return 1;
		}
		if (c == 0) {
			char *const av[] = {(char *)path, NULL};
			execv(path, av);
			_exit(127);
		}
		int st;
		while (waitpid(c, &st, 0) < 0)
			if (errno != EINTR) {
				fprintf(stderr, "driver: waitpid: %s\n", strerror(errno));
				return 1;
			}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	fprintf(stderr, "rounds=%ld ok=%ld\n", n, ok);
	return ok == n ? 0 : 1;
}
