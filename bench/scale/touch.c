// bench/scale.sh's probe of the machine under the store: what reading 1024 random records costs per batch when
// nothing of ReLabel4J runs (no pooling, no JVM), per way of holding the file. It separates the store's own cost
// from the platform's (page faults, TLB reach, a hypervisor's nested paging) in the gather benchmark.
//
// usage: touch STORE RECORD_BYTES [BATCHES]   (the records region is taken to start at 4096, as in the format)
// For each way: BATCHES batches of 1024 random records, every 64th byte of each record read, ms per batch
// (mean): "new" = records not read before in this process, "again" = the same batches a second time.
//   mapped        a fresh read-only shared mapping, madvise(RANDOM): page faults on first touch
//   populated     the same after MAP_POPULATE (page tables filled at map time): no faults, the same pages
//   pread         pread(2) of each record into one reused buffer: the kernel copies from the page cache
//   anonymous     the records copied into anonymous memory (2 MiB aligned, MADV_HUGEPAGE): as residency `ram`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 1024, HEADER = 4096 };
static volatile long sink;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint64_t next(uint64_t *s) {  // splitmix64
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Mean ms per batch of touching (or, with fd >= 0, pread-ing into buf and touching) `batches` random batches.
static double pass(const char *records, int fd, char *buf, long count, long size, int batches, uint64_t seed) {
  double total = 0;
  long idx[BATCH];
  for (int b = 0; b < batches; ++b) {
    for (int i = 0; i < BATCH; ++i) idx[i] = (long)(next(&seed) % (uint64_t)count);
    double t = now_ms();
    long sum = 0;
    for (int i = 0; i < BATCH; ++i) {
      const char *r = records + idx[i] * size;
      if (fd >= 0) {
        if (pread(fd, buf, (size_t)size, HEADER + idx[i] * size) != size) {
          fprintf(stderr, "touch: short read\n");
          exit(1);
        }
        r = buf;
      }
      for (long o = 0; o < size; o += 64) sum += r[o];
    }
    sink += sum;
    total += now_ms() - t;
  }
  return total / batches;
}

static char notes[512];

// MemAvailable from /proc/meminfo in bytes, 0 when unknown.
static double mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  char line[256];
  double kb = 0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
  if (f != NULL) fclose(f);
  return kb * 1024;
}

static void row(const char *way, const char *records, int fd, char *buf, long count, long size, int batches,
                uint64_t seed) {
  double fresh = pass(records, fd, buf, count, size, batches, seed);
  double again = pass(records, fd, buf, count, size, batches, seed);
  printf("| %s | %.2f | %.2f |\n", way, fresh, again);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: touch STORE RECORD_BYTES [BATCHES]\n");
    return 2;
  }
  long size = atol(argv[2]);
  int batches = argc > 3 ? atoi(argv[3]) : 40;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || size <= 0 || batches <= 0 || st.st_size <= HEADER + size) {
    fprintf(stderr, "touch: cannot use %s with %ld-byte records\n", argv[1], size);
    return 2;
  }
  // Records only (the file's index and metadata follow them; an estimate that stays inside the file is enough).
  long count = (long)((st.st_size - HEADER) / size) * 9 / 10;
  size_t len = (size_t)st.st_size;
  printf("touch probe: %s, %ld records of %ld bytes sampled, %d batches of %d\n", argv[1], count, size, batches, BATCH);
  printf("| way | new records: ms/batch | same again: ms/batch |\n|---|---|---|\n");

  char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return perror("mmap"), 1;
  madvise(m, len, MADV_RANDOM);
  row("mapped", m + HEADER, -1, NULL, count, size, batches, 1);
  munmap(m, len);

  double t = now_ms();
  m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (m == MAP_FAILED) return perror("mmap"), 1;
  snprintf(notes, sizeof notes, "MAP_POPULATE of %.2f GB: %.0f ms", len / 1e9, now_ms() - t);
  row("populated", m + HEADER, -1, NULL, count, size, batches, 2);
  munmap(m, len);

  char *buf = malloc((size_t)size);
  row("pread", NULL, fd, buf, count, size, batches, 3);
  free(buf);

  size_t huge = 2u << 20;
  if (mem_available() < 2.0 * len) {
    printf("| anonymous | SKIPPED: %.2f GB would take more than half the available memory | |\n%s\n", len / 1e9,
           notes);
    return 0;
  }
  char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return perror("mmap"), 1;
  char *a = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
  madvise(a, len, MADV_HUGEPAGE);
  t = now_ms();
  for (size_t off = 0; off < len;) {
    ssize_t got = pread(fd, a + off, len - off > (64u << 20) ? (64u << 20) : len - off, (off_t)off);
    if (got <= 0) return perror("pread"), 1;
    off += (size_t)got;
  }
  double copy = now_ms() - t;
  row("anonymous", a + HEADER, -1, NULL, count, size, batches, 4);
  printf("%s; copy into anonymous memory: %.0f ms\n", notes, copy);
  munmap(raw, len + huge);
  close(fd);
  return 0;
}
