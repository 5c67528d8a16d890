/* canary.c: a fixed amount of CPU work, timed: the machine's speed now.
 *
 * The matrix runs it on the server's CPU right before each measurement, so
 * a row carries how fast that CPU was at the time (a slow time slot of a
 * shared machine, steal, a lower clock).  The work is a xorshift and
 * multiply loop over a 4 KiB table: integer ALU and L1 only, no library,
 * no system call, no allocation, the same instructions on every run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG	   "tlsbench-canary"
#define TABLE	   512 /* uint64_t entries: 4 KiB, in L1 */
#define ITERATIONS 14000000

static const char usage_text[] =
	"Usage: " PROG " [--iterations N]\n"
	"Runs a fixed integer loop (xorshift and multiply over a 4 KiB table,\n"
	"N iterations, default 14000000: about 20 ms on a 2020s x86 core) and\n"
	"prints the wall-clock nanoseconds it took, one integer on stdout.\n"
	"Pin it where the speed matters: taskset -c 0 " PROG "\n"
	"Exit: 0, or 2 on a usage error.\n";

static volatile uint64_t sink;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The work.  Each step depends on the last (no vectorising it away) and
 * the table keeps the result observable, so the compiler keeps it all. */
static uint64_t
work(uint64_t *table, unsigned long iterations)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (unsigned long i = 0; i < iterations; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		table[x % TABLE] = table[x % TABLE] * 0x2545f4914f6cdd1du + x;
	}
	return x ^ table[x % TABLE];
}

int
main(int argc, char **argv)
{
	static uint64_t table[TABLE];
	unsigned long iterations = ITERATIONS;
	uint64_t t0, t1, sum;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
			iterations = strtoul(argv[++i], &end, 10);
			if (*end == '\0' && iterations > 0 &&
			    iterations <= 1000000000ul)
				continue;
		}
		fprintf(stderr,
			PROG ": bad argument '%s': use --iterations N "
			     "(1 to 1000000000), or see --help\n",
			argv[i]);
		return 2;
	}
	for (unsigned i = 0; i < TABLE; i++)
		table[i] = i;
	t0 = now_ns();
	sum = work(table, iterations);
	t1 = now_ns();
	/* a volatile store: the result is used, so the loop stays */
	sink = sum;
	printf("%" PRIu64 "\n", t1 - t0);
	return 0;
}
