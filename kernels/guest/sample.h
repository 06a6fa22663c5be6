// sample.h: one sample of the swap-relevant counters as a single text line, shared by the
// periodic sampler (sampler.c) and the synchronous phase-end snapshots (swapwl.c).
//
// Line format (parsed on the host by swaplab.capture.parse):
//   <kind> <t_mono> key=value key=value ... #
// keys: vm.<vmstat key>, mi.<meminfo key> (kB), cg.current, cg.swap.current (bytes),
//       cg.stat.<key> (bytes), cg.ev.<memory.events key>, cg.sev.<memory.swap.events key>,
//       sw.size / sw.used (kB, summed over /proc/swaps), pm.swapcache_mapped (pages of swap cache
//       mapped by the cgroup's processes, from pagemap + kpageflags), pm.swap_ptes (their swap
//       ptes), pm.procs, pm.swapref_cached (snapshots only: swap-cache pages the process still
//       references through a swap pte, from its own mincore), x<N>=<value> for extra files
//       listed in /extra.list.  The trailing '#' marks a complete line.
#ifndef SWAPLAB_SAMPLE_H
#define SWAPLAB_SAMPLE_H
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KPF_SWAPCACHE 13 // include/uapi/linux/kernel-page-flags.h (6.1..7.2); 14 is SWAPBACKED
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)  // Documentation/admin-guide/mm/pagemap.rst
#define PM_PFN_MASK ((1ULL << 55) - 1)

static char sbuf[1 << 17];

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int slurp(const char *p) {
  int fd = open(p, O_RDONLY);
  if (fd < 0) return -1;
  int n = 0, r;
  while (n < (int)sizeof sbuf - 1 && (r = read(fd, sbuf + n, sizeof sbuf - 1 - n)) > 0) n += r;
  close(fd);
  sbuf[n] = 0;
  return n;
}

static const char *VMKEYS[] = {
    "pswpin", "pswpout", "swap_ra", "swap_ra_hit", "pgmajfault", "pgfault", "oom_kill",
    "nr_swapcached", "nr_anon_pages", "nr_free_pages", "nr_inactive_anon", "nr_active_anon",
    "pgscan_anon", "pgsteal_anon", "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd",
    "pgsteal_direct", "workingset_refault_anon", "thp_swpout", "nr_writeback", 0};
static const char *MIKEYS[] = {"MemFree", "AnonPages", "SwapCached", "SwapTotal", "SwapFree", 0};
static const char *STATKEYS[] = {"anon", "file", "swapcached", "active_anon", "inactive_anon",
                                 "shmem", "zswap", "pgscan", "pgsteal", 0};

static int in_list(const char *k, const char **list) {
  for (int i = 0; list[i]; i++)
    if (!strcmp(k, list[i])) return 1;
  return 0;
}

// "key value" lines (vmstat, memory.stat, memory.events), filtered by list (NULL: all)
static void kv_lines(FILE *o, const char *path, const char *prefix, const char **list) {
  if (slurp(path) <= 0) return;
  char *save, *l = strtok_r(sbuf, "\n", &save);
  for (; l; l = strtok_r(NULL, "\n", &save)) {
    char k[64];
    unsigned long long v;
    if (sscanf(l, "%63s %llu", k, &v) == 2 && (!list || in_list(k, list)))
      fprintf(o, " %s%s=%llu", prefix, k, v);
  }
}

static void one_value(FILE *o, const char *path, const char *key) {
  if (slurp(path) <= 0) return;
  if (!strncmp(sbuf, "max", 3)) { fprintf(o, " %s=max", key); return; }
  fprintf(o, " %s=%llu", key, strtoull(sbuf, 0, 10));
}

// Swap-cache pages mapped by the cgroup's processes: walk each process's anonymous mappings
// in /proc/<pid>/pagemap and test KPF_SWAPCACHE in /proc/kpageflags (each pfn counted once).
static uint8_t *pfn_seen;
static size_t pfn_seen_n;
static uint64_t *kflags;
static size_t kflags_n;

static long swapcache_mapped(const char *cg, int *nprocs, long *swapped) {
  char p[600];
  snprintf(p, sizeof p, "%s/cgroup.procs", cg);
  *nprocs = 0;
  *swapped = 0;
  if (slurp(p) < 0) return -1;
  char pids[4096];
  snprintf(pids, sizeof pids, "%s", sbuf);
  if (!kflags) {  // one read of the whole flags table per call (RAM <= 4 GiB: <= 8 MiB)
    kflags_n = (size_t)sysconf(_SC_PHYS_PAGES) + (1 << 18);
    kflags = malloc(kflags_n * 8);
    pfn_seen_n = kflags_n;
    pfn_seen = malloc(pfn_seen_n);
  }
  int kf = open("/proc/kpageflags", O_RDONLY);
  if (kf < 0) return -1;
  ssize_t got = pread(kf, kflags, kflags_n * 8, 0);
  close(kf);
  if (got <= 0) return -1;
  size_t nkf = (size_t)got / 8;
  memset(pfn_seen, 0, pfn_seen_n);
  long count = 0;
  char *save, *tok = strtok_r(pids, "\n", &save);
  static uint64_t ent[4096];
  for (; tok; tok = strtok_r(NULL, "\n", &save)) {
    int pid = atoi(tok);
    if (pid <= 0) continue;
    (*nprocs)++;
    snprintf(p, sizeof p, "/proc/%d/maps", pid);
    if (slurp(p) <= 0) continue;
    char *maps = strdup(sbuf);
    snprintf(p, sizeof p, "/proc/%d/pagemap", pid);
    int pm = open(p, O_RDONLY);
    char *s2, *l = strtok_r(maps, "\n", &s2);
    for (; pm >= 0 && l; l = strtok_r(NULL, "\n", &s2)) {
      unsigned long lo, hi, off, ino;
      char perms[8], dev[16];
      int n = 0;
      if (sscanf(l, "%lx-%lx %7s %lx %15s %lu %n", &lo, &hi, perms, &off, dev, &ino, &n) < 6)
        continue;
      if (ino != 0 || perms[3] != 'p' || l[n] == '[') continue;  // private anonymous only
      for (unsigned long a = lo; a < hi;) {
        size_t want = (hi - a) / 4096;
        if (want > 4096) want = 4096;
        ssize_t r = pread(pm, ent, want * 8, (off_t)(a / 4096) * 8);
        if (r <= 0) break;
        for (size_t i = 0; i < (size_t)r / 8; i++) {
          if (ent[i] & PM_SWAP) (*swapped)++;
          if (!(ent[i] & PM_PRESENT)) continue;
          uint64_t pfn = ent[i] & PM_PFN_MASK;
          if (pfn >= nkf || pfn >= pfn_seen_n || pfn_seen[pfn]) continue;
          pfn_seen[pfn] = 1;
          if (kflags[pfn] & (1ULL << KPF_SWAPCACHE)) count++;
        }
        a += (size_t)r / 8 * 4096;
      }
    }
    if (pm >= 0) close(pm);
    free(maps);
  }
  return count;
}

// Extra files (e.g. a patched kernel's counters): one path per line in /extra.list.
static void extra_files(FILE *o) {
  FILE *f = fopen("/extra.list", "r");
  if (!f) return;
  char path[512];
  for (int i = 0; fgets(path, sizeof path, f); i++) {
    path[strcspn(path, "\n")] = 0;
    if (!path[0]) continue;
    if (slurp(path) < 0) { fprintf(o, " x%d=nan", i); continue; }
    char *e;
    double v = strtod(sbuf, &e);
    if (e == sbuf) fprintf(o, " x%d=nan", i); else fprintf(o, " x%d=%.17g", i, v);
  }
  fclose(f);
}

// extra: appended verbatim (" key=value ..."), may be NULL
static void sample_line(FILE *o, const char *kind, const char *cg, int pagemap,
                        const char *extra) {
  char p[600];
  double t = mono_now();
  fprintf(o, "%s %.6f", kind, t);
  kv_lines(o, "/proc/vmstat", "vm.", VMKEYS);
  if (slurp("/proc/meminfo") > 0) {
    char *save, *l = strtok_r(sbuf, "\n", &save);
    for (; l; l = strtok_r(NULL, "\n", &save)) {
      char k[64];
      unsigned long long v;
      if (sscanf(l, "%63[^:]: %llu", k, &v) == 2 && in_list(k, MIKEYS))
        fprintf(o, " mi.%s=%llu", k, v);
    }
  }
  if (slurp("/proc/swaps") > 0) {
    unsigned long long size = 0, used = 0, s, u;
    char *save, *l = strtok_r(sbuf, "\n", &save);
    for (l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
      if (sscanf(l, "%*s %*s %llu %llu", &s, &u) == 2) { size += s; used += u; }
    fprintf(o, " sw.size=%llu sw.used=%llu", size, used);
  }
  snprintf(p, sizeof p, "%s/memory.current", cg);
  one_value(o, p, "cg.current");
  snprintf(p, sizeof p, "%s/memory.swap.current", cg);
  one_value(o, p, "cg.swap.current");
  snprintf(p, sizeof p, "%s/memory.stat", cg);
  kv_lines(o, p, "cg.stat.", STATKEYS);
  snprintf(p, sizeof p, "%s/memory.events", cg);
  kv_lines(o, p, "cg.ev.", NULL);
  snprintf(p, sizeof p, "%s/memory.swap.events", cg);
  kv_lines(o, p, "cg.sev.", NULL);
  if (pagemap) {
    int np;
    long sw;
    long m = swapcache_mapped(cg, &np, &sw);
    if (m >= 0) fprintf(o, " pm.swapcache_mapped=%ld pm.swap_ptes=%ld pm.procs=%d", m, sw, np);
  }
  if (extra) fputs(extra, o);
  extra_files(o);
  fprintf(o, " #\n");
  fflush(o);
}
#endif
