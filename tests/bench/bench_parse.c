/*
 * bench_parse.c: parser throughput and memory. Parses every file given,
 * or every regular file under each directory given (sorted by path), and
 * times only parse_feed + feed_free with CLOCK_MONOTONIC: each file is read
 * into memory before its clock starts. Reports MB (10^6 bytes) parsed,
 * seconds, MB/s, entries, entries/s, and the peak RSS from getrusage.
 *
 * By default a file is read just before it is parsed, into one buffer
 * reused for all files, so peak memory is the parser's plus the largest
 * file and does not depend on how many files there are; -p reads them all
 * first instead.
 *
 *   bench_parse [-n ROUNDS] [-p] [-t] [-v] FILE|DIR...
 *
 * -t adds one line of key=value pairs for scripts (tests/bench/parse.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "feed.h"
#include "parse.h"

#define BASE_URL "https://bench.example.com/"

struct input {
  char *path;
  char *data; /* with -p only */
  size_t len;
};

static struct input *inputs;
static size_t ninputs, inputs_cap;

static void usage(void)
{
  fprintf(stderr, "usage: bench_parse [-n ROUNDS] [-p] [-t] [-v] "
                  "FILE|DIR...\n");
  exit(2);
}

/* Returns 0, or -1 when out of memory. */
static int add_input(const char *path)
{
  if(ninputs == inputs_cap) {
    size_t cap = inputs_cap ? inputs_cap * 2 : 256;
    struct input *n = realloc(inputs, cap * sizeof(*n));

    if(!n)
      return -1;
    inputs = n;
    inputs_cap = cap;
  }
  inputs[ninputs].path = strdup(path);
  if(!inputs[ninputs].path)
    return -1;
  inputs[ninputs].data = NULL;
  inputs[ninputs].len = 0;
  ninputs++;
  return 0;
}

static int walk_cb(const char *path, const struct stat *st, int type,
                   struct FTW *ftw)
{
  (void)ftw;
  if(type == FTW_F && S_ISREG(st->st_mode))
    return add_input(path) < 0 ? -1 : 0;
  return 0;
}

static int cmp_input(const void *a, const void *b)
{
  return strcmp(((const struct input *)a)->path,
                ((const struct input *)b)->path);
}

/* Reads path into *buf (grown as needed, capacity in *cap); returns the
 * length, or -1 with errno set. */
static ssize_t read_file(const char *path, char **buf, size_t *cap)
{
  struct stat st;
  size_t len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if(fd < 0)
    return -1;
  if(fstat(fd, &st) < 0)
    goto fail;
  for(;;) {
    ssize_t n;

    if(len + 1 >= *cap) {
      size_t want = *cap ? *cap * 2 : 4096;
      char *p;

      /* Room for the whole file and one byte more to see the end. */
      if(want < (size_t)st.st_size + 2)
        want = (size_t)st.st_size + 2;
      p = realloc(*buf, want);
      if(!p) {
        errno = ENOMEM;
        goto fail;
      }
      *buf = p;
      *cap = want;
    }
    n = read(fd, *buf + len, *cap - len);
    if(n < 0) {
      if(errno == EINTR)
        continue;
      goto fail;
    }
    if(n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  return (ssize_t)len;
fail:
  close(fd);
  return -1;
}

static double now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
  struct rusage ru;

  if(getrusage(RUSAGE_SELF, &ru) < 0)
    return -1;
  return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
  int rounds = 1, preload = 0, tsv = 0, verbose = 0;
  char *buf = NULL;
  size_t cap = 0;
  double seconds = 0;
  unsigned long long bytes = 0, entries = 0, failed = 0;
  long rss_before;
  char url[4096];
  int opt;

  while((opt = getopt(argc, argv, "n:ptv")) != -1) {
    switch(opt) {
    case 'n':
      rounds = atoi(optarg);
      if(rounds < 1)
        usage();
      break;
    case 'p':
      preload = 1;
      break;
    case 't':
      tsv = 1;
      break;
    case 'v':
      verbose = 1;
      break;
    default:
      usage();
    }
  }
  if(optind >= argc)
    usage();

  for(int i = optind; i < argc; i++) {
    struct stat st;

    if(stat(argv[i], &st) < 0) {
      fprintf(stderr, "bench_parse: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    if(S_ISDIR(st.st_mode)) {
      if(nftw(argv[i], walk_cb, 32, FTW_PHYS) != 0) {
        fprintf(stderr, "bench_parse: %s: cannot list\n", argv[i]);
        return 1;
      }
    } else if(add_input(argv[i]) < 0) {
      fprintf(stderr, "bench_parse: out of memory\n");
      return 1;
    }
  }
  qsort(inputs, ninputs, sizeof(*inputs), cmp_input);

  if(preload) {
    for(size_t i = 0; i < ninputs; i++) {
      size_t c = 0;
      ssize_t n = read_file(inputs[i].path, &inputs[i].data, &c);

      if(n < 0) {
        fprintf(stderr, "bench_parse: %s: %s\n", inputs[i].path,
                strerror(errno));
        return 1;
      }
      inputs[i].len = (size_t)n;
    }
  }

  parse_init();
  rss_before = maxrss_kib();

  for(int r = 0; r < rounds; r++) {
    for(size_t i = 0; i < ninputs; i++) {
      const char *data = inputs[i].data;
      size_t len = inputs[i].len;
      const char *name = strrchr(inputs[i].path, '/');
      struct feed *feed = NULL;
      char err[256];
      double t0;
      int rc;

      if(!preload) {
        ssize_t n = read_file(inputs[i].path, &buf, &cap);

        if(n < 0) {
          fprintf(stderr, "bench_parse: %s: %s\n", inputs[i].path,
                  strerror(errno));
          return 1;
        }
        data = buf;
        len = (size_t)n;
      }
      snprintf(url, sizeof(url), "%s%s", BASE_URL,
               name ? name + 1 : inputs[i].path);

      t0 = now();
      rc = parse_feed(data, len, url, NULL, &feed, err, sizeof(err));
      if(rc == 0)
        entries += feed->nentries;
      feed_free(feed);
      seconds += now() - t0;

      bytes += len;
      if(rc < 0) {
        failed++;
        if(verbose)
          fprintf(stderr, "bench_parse: %s: %s\n", inputs[i].path, err);
      }
    }
  }

  {
    long rss = maxrss_kib();
    double mb = (double)bytes / 1e6;
    double secs = seconds > 0 ? seconds : 1e-9;

    printf("bench_parse: %zu files x %d, %.1f MB, %llu entries, "
           "%llu failed\n",
           ninputs, rounds, mb, entries, failed);
    printf("  parse+free: %.3f s, %.1f MB/s, %.0f entries/s\n", seconds,
           mb / secs, (double)entries / secs);
    printf("  peak RSS: %.1f MiB (%.1f MiB before the first parse)\n",
           (double)rss / 1024, (double)rss_before / 1024);
    if(tsv)
      printf("files=%zu rounds=%d bytes=%llu seconds=%.6f entries=%llu "
             "failed=%llu maxrss_kib=%ld\n",
             ninputs, rounds, bytes, seconds, entries, failed, rss);
  }

  for(size_t i = 0; i < ninputs; i++) {
    free(inputs[i].path);
    free(inputs[i].data);
  }
  free(inputs);
  free(buf);
  return 0;
}
