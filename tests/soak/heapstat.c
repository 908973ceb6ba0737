/*
 * heapstat.c: an LD_PRELOAD shim for the soak (tests/soak/soak.sh builds
 * it; not part of freshet). Tells a heap that grows from resident memory
 * that grows: every 10 s it appends glibc's mallinfo2() totals (bytes in
 * use, arena size, free, mmapped) to $HEAPSTAT_FILE, and every 60 s
 * malloc_info()'s per-arena XML to $HEAPSTAT_FILE.xml. Bytes in use flat
 * while the arena grows is fragmentation, not a leak.
 *
 *   cc -O2 -shared -fPIC -pthread heapstat.c -o heapstat.so
 *   LD_PRELOAD=./heapstat.so HEAPSTAT_FILE=heap.log freshet run
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_S 10
#define XML_EVERY 6

static char path[1024];

static double since(const struct timespec *t0)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) +
         (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *run(void *arg)
{
  char xpath[1100];
  struct timespec t0;
  FILE *f;
  FILE *x;

  (void)arg;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  snprintf(xpath, sizeof(xpath), "%s.xml", path);
  f = fopen(path, "a");
  x = fopen(xpath, "a");
  if(!f || !x)
    return NULL;
  fprintf(f, "t in_use arena free mmapped\n");
  for(unsigned i = 0;; i++) {
    struct mallinfo2 m = mallinfo2();
    double t = since(&t0);

    fprintf(f, "%.1f %zu %zu %zu %zu\n", t, m.uordblks, m.arena, m.fordblks,
            m.hblkhd);
    fflush(f);
    if(i % XML_EVERY == 0) {
      fprintf(x, "<!-- t=%.0f -->\n", t);
      malloc_info(0, x);
      fflush(x);
    }
    sleep(PERIOD_S);
  }
  return NULL;
}

/* Starts the sampling thread when HEAPSTAT_FILE is set, and keeps the
 * variables from the program's own children. */
__attribute__((constructor)) static void heapstat_init(void)
{
  const char *p = getenv("HEAPSTAT_FILE");
  pthread_t th;

  if(!p || !*p)
    return;
  snprintf(path, sizeof(path), "%s", p);
  unsetenv("HEAPSTAT_FILE");
  unsetenv("LD_PRELOAD");
  if(pthread_create(&th, NULL, run, NULL) == 0)
    pthread_detach(th);
}
