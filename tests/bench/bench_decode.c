/* bench_decode.c: decode throughput (MB of capture per second) of the full
 * pipeline behind `kdwatch decode`: libpcap, HMAC + AES, KD framing, DBGKD
 * decoding and formatting (output to /dev/null). */
#include "decode.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(const char *path, const char *key, int rounds)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bench_decode: %s missing\n", path);
        return 1;
    }
    FILE *devnull = fopen("/dev/null", "w");
    struct decode_options o = {.path = path, .key = key};
    double t0 = now_s();
    for (int i = 0; i < rounds; i++)
        decode_run(&o, devnull, devnull, NULL);
    double dt = now_s() - t0;
    fclose(devnull);
    double mb = (double)st.st_size * rounds / 1e6;
    printf("decode %-40s %7.1f MB/s  (%d x %lld bytes in %.3f s, per-packet lines on)\n", path,
           mb / dt, rounds, (long long)st.st_size, dt);
    return 0;
}

int main(void)
{
    int rc = bench("../shared/captures/windbg-uncut.pcapng", "8.8.8.8", 200);
    rc |= bench("../shared/captures/midsession-no-handshake.pcap", "1.2.3.4", 200);
    return rc;
}
