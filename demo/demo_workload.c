/*
 * demo_workload - the bundled demo for pertop: a small log-crunching program
 * with a few functions of different cost, a main thread and a worker thread,
 * so a newcomer sees a real live profile without hunting for a PID.
 *
 *   main -> process_batch -> parse_record -> tokenize      (hot leaf)
 *                         -> hash_fields                  (medium)
 *                         -> update_histogram -> sort_bucket (insertion sort)
 *   worker "compressor" -> compress_block -> rle_encode
 *
 * Usage: demo_workload [SECONDS]   (default: run until interrupted)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORDS 512
#define LINE    96
#define BUCKET  64

static volatile uint64_t sink;

static void make_record(char *line, unsigned seed)
{
    snprintf(line, LINE, "2026-11-26T12:%02u:%02u host%u GET /api/v%u/items/%u status=%u ms=%u",
             seed % 60, (seed / 60) % 60, seed % 7, seed % 3, seed * 2654435761u % 100000,
             200 + seed % 5, seed % 997);
}

__attribute__((noinline)) static unsigned tokenize(const char *line, const char **tok, unsigned max)
{
    unsigned n = 0;
    const char *p = line;
    while (*p && n < max) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        tok[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

__attribute__((noinline)) static uint64_t hash_fields(const char **tok, unsigned n)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned i = 0; i < n; i++)
        for (const char *p = tok[i]; *p && *p != ' '; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

__attribute__((noinline)) static uint64_t parse_record(const char *line)
{
    const char *tok[16];
    uint64_t h = 0;
    for (int rep = 0; rep < 4; rep++) {
        unsigned n = tokenize(line, tok, 16);
        h += hash_fields(tok, n);
    }
    return h;
}

__attribute__((noinline)) static void sort_bucket(uint64_t *b, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        uint64_t v = b[i];
        unsigned j = i;
        while (j > 0 && b[j - 1] > v) {
            b[j] = b[j - 1];
            j--;
        }
        b[j] = v;
    }
}

__attribute__((noinline)) static void update_histogram(uint64_t *bucket, unsigned *fill, uint64_t h)
{
    bucket[(*fill)++] = h;
    if (*fill == BUCKET) {
        sort_bucket(bucket, BUCKET);
        sink += bucket[BUCKET / 2];
        *fill = 0;
    }
}

__attribute__((noinline)) static void process_batch(char (*lines)[LINE], uint64_t *bucket,
                                                    unsigned *fill)
{
    for (unsigned i = 0; i < RECORDS; i++)
        update_histogram(bucket, fill, parse_record(lines[i]));
}

__attribute__((noinline)) static size_t rle_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && j - i < 255 && in[j] == in[i])
            j++;
        out[o++] = (uint8_t)(j - i);
        out[o++] = in[i];
        i = j;
    }
    return o;
}

__attribute__((noinline)) static void compress_block(uint8_t *buf, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)((buf[i] * 31u + i) >> 3);
    sink += rle_encode(buf, n, out);
}

static void *compressor(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "compressor");
    static uint8_t buf[1 << 16], out[1 << 17];
    for (;;) {
        compress_block(buf, sizeof buf, out);
        usleep(1000); /* a lighter load than the main thread */
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 0;
    static char lines[RECORDS][LINE];
    for (unsigned i = 0; i < RECORDS; i++)
        make_record(lines[i], i * 7919u);
    pthread_t t;
    pthread_create(&t, NULL, compressor, NULL);
    uint64_t bucket[BUCKET];
    unsigned fill = 0;
    time_t end = time(NULL) + seconds;
    while (seconds <= 0 || time(NULL) < end)
        process_batch(lines, bucket, &fill);
    printf("%llu\n", (unsigned long long)sink);
    return 0;
}
