// swapwl: the guest's workload interpreter.  Runs a scenario's processes and phases exactly as
// the model reads them (swaplab.scenario), from the line format written by
// swaplab.capture.guest.encode_workload:
//
//   swaplab-workload 1          header
//   seed <n> / thp <0|1>        settings
//   P <name>                    a process starts (forked, joins the cgroup, runs what follows)
//   alloc <pages> <nameid>      mmap anon (+MADV_NOHUGEPAGE unless thp) and write every page
//   touch|readback <region> <fraction> <seq|random>
//   pageout|unmap <region> <fraction>
//   race_unmap <region> <chunk_pages> <unmap|keep> [sequential]
//   fork_touch <region> <children> <fraction>
//   sleep <seconds>
//   set <cgroup file> <bytes|max>
//   repeat <times> ... end      nested phases
//   B <index>                   end of a top-level phase: synchronous snapshot <index>
//   X <index>                   end of the process: it exits; the parent snapshots <index>
// region: "last", "all" or "n<id>" (the most recent alloc with that name id).
//
// usage: swapwl <workload file> <cgroup dir> <snapshot file>
//        swapwl --check <workload file>   parse only: print each op's line keyword, in order
// The parent stays in the root cgroup; each process is a child that joins the cgroup.  At each
// B line the child writes a trace_marker and blocks while the parent writes a snapshot line
// (sample.h) "P<index> ..." to the snapshot file.  An OOM-killed process is recorded
// ("EXIT ... signal=9") and the scenario goes on with the next process.
#include "sample.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/wait.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#define PG 4096UL
#define MAXOPS 2000000
#define MAXREG 65536

enum { O_ALLOC, O_TOUCH, O_READBACK, O_PAGEOUT, O_UNMAP, O_RACE, O_FORK, O_SLEEP, O_SET,
       O_REPEAT, O_END, O_B, O_P, O_X };
static const char *const opname[] = {  // the line keyword of each O_* (--check prints it)
  "alloc", "touch", "readback", "pageout", "unmap", "race_unmap", "fork_touch", "sleep", "set",
  "repeat", "end", "B", "P", "X"};
typedef struct {
  int op, region, ival, ival2; // region: -1 last, -2 all, >=0 name id
  double dval;
  long end;                    // repeat: index of its matching end
  char str[96];                // set: file + value; P: name
} Op;

static Op *ops;
static long nops;
static int thp, seed = 1;
static const char *cgdir;
static int markfd = -1, c2p[2], p2c[2];
static double t0;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "swapwl: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  exit(3);
}

static void logm(const char *fmt, ...) {
  char b[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  printf("[swapwl %.3f pid %d] %s\n", mono_now() - t0, getpid(), b);
  fflush(stdout);
}

static void marker(const char *fmt, ...) {
  if (markfd < 0) return;
  char b[300];
  int n = snprintf(b, sizeof b, "swaplab ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(b + n, sizeof b - n, fmt, ap);
  va_end(ap);
  if (write(markfd, b, n) < 0) {}
}

static int region_tok(const char *s) {
  if (!strcmp(s, "last")) return -1;
  if (!strcmp(s, "all")) return -2;
  if (s[0] == 'n') return atoi(s + 1);
  die("bad region %s", s);
  return 0;
}

static void load(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die("cannot open %s", path);
  long cap = 256;
  ops = calloc(cap, sizeof(Op));
  char line[256], a[96], b[96], c[96], d[96];
  long stack[64];
  int sp = 0;
  if (!fgets(line, sizeof line, f) || strncmp(line, "swaplab-workload 1", 18)) die("bad header");
  while (fgets(line, sizeof line, f)) {
    if (nops >= MAXOPS) die("too many ops");
    if (nops >= cap) {
      cap *= 2;
      if (!(ops = realloc(ops, cap * sizeof(Op)))) die("out of memory for %ld ops", cap);
    }
    if (!ops) die("out of memory");
    Op *o = &ops[nops];
    memset(o, 0, sizeof *o);
    int n = sscanf(line, "%95s %95s %95s %95s %95s", a, b, c, o->str, d);
    if (n <= 0 || a[0] == '#') continue;
    if (!strcmp(a, "seed")) { seed = atoi(b); continue; }
    if (!strcmp(a, "thp")) { thp = atoi(b); continue; }
    if (!strcmp(a, "P")) { o->op = O_P; snprintf(o->str, sizeof o->str, "%s", b); }
    else if (!strcmp(a, "B")) { o->op = O_B; o->ival = atoi(b); }
    else if (!strcmp(a, "X")) { o->op = O_X; o->ival = atoi(b); }
    else if (!strcmp(a, "alloc")) { o->op = O_ALLOC; o->ival = atoi(b); o->region = atoi(c); }
    else if (!strcmp(a, "touch") || !strcmp(a, "readback")) {
      o->op = a[0] == 't' ? O_TOUCH : O_READBACK;
      o->region = region_tok(b); o->dval = atof(c); o->ival = !strcmp(o->str, "random");
    } else if (!strcmp(a, "pageout") || !strcmp(a, "unmap")) {
      o->op = a[0] == 'p' ? O_PAGEOUT : O_UNMAP; o->region = region_tok(b); o->dval = atof(c);
    } else if (!strcmp(a, "race_unmap")) {
      o->op = O_RACE; o->region = region_tok(b); o->ival = atoi(c);
      o->ival2 = (strcmp(o->str, "keep") == 0) | (n >= 5 && strcmp(d, "sequential") == 0) << 1;
    } else if (!strcmp(a, "fork_touch")) {
      o->op = O_FORK; o->region = region_tok(b); o->ival = atoi(c); o->dval = atof(o->str);
    } else if (!strcmp(a, "sleep")) { o->op = O_SLEEP; o->dval = atof(b); }
    else if (!strcmp(a, "set")) { o->op = O_SET; snprintf(o->str, sizeof o->str, "%s %s", b, c); }
    else if (!strcmp(a, "repeat")) { o->op = O_REPEAT; o->ival = atoi(b); stack[sp++] = nops; }
    else if (!strcmp(a, "end")) {
      if (!sp) die("end without repeat");
      o->op = O_END; ops[stack[--sp]].end = nops;
    } else die("unknown line: %s", a);
    if (sp >= 64) die("repeats nested too deep");
    nops++;
  }
  if (sp) die("repeat without end");
  fclose(f);
}

// ---- the process's mappings ----
typedef struct { char *base; size_t npages; int name; unsigned char *mapped; } Region;
static Region reg[MAXREG];
static int nreg;
static uint64_t rng;
static uint64_t xrand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static void fill(char *p, size_t i) {
  uint64_t *q = (uint64_t *)p, x = i * 0x9E3779B97F4A7C15ULL + 1;
  q[0] = i;
  for (size_t k = 1; k < PG / 8; k++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; q[k] = x; }
}

// regions an op applies to: last, all, or the most recent alloc with that name
static int pick(int region, int *out) {
  int n = 0;
  if (region == -2) { for (int i = 0; i < nreg; i++) out[n++] = i; }
  else if (region == -1) { if (nreg) out[n++] = nreg - 1; }
  else for (int i = nreg - 1; i >= 0; i--) if (reg[i].name == region) { out[n++] = i; break; }
  return n;
}

static size_t count_of(const Region *r, double fraction) {
  size_t n = (size_t)(fraction * (double)r->npages + 1e-9);
  if (n < 1) n = 1;
  return n > r->npages ? r->npages : n;
}

static void unmap_range(Region *r, size_t lo, size_t hi) {  // pages [lo, hi)
  if (hi > r->npages) hi = r->npages;
  if (lo >= hi) return;
  munmap(r->base + lo * PG, (hi - lo) * PG);
  memset(r->mapped + lo, 0, hi - lo);
}

static void op_alloc(size_t npages, int name) {
  if (nreg >= MAXREG) die("too many allocs");
  Region *r = &reg[nreg];
  r->base = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r->base == MAP_FAILED) die("mmap %zu pages: %s", npages, strerror(errno));
  if (!thp) madvise(r->base, npages * PG, MADV_NOHUGEPAGE);
  r->npages = npages; r->name = name;
  r->mapped = malloc(npages);
  memset(r->mapped, 1, npages);
  nreg++;
  for (size_t i = 0; i < npages; i++) fill(r->base + i * PG, i);
}

static void op_fault(Region *r, double fraction, int random, int write) {
  size_t n = count_of(r, fraction), bad = 0;
  size_t *order = NULL;
  if (random) {
    order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = n - 1; i > 0; i--) { size_t j = xrand() % (i + 1), t = order[i];
      order[i] = order[j]; order[j] = t; }
  }
  for (size_t k = 0; k < n; k++) {
    size_t i = order ? order[k] : k;
    if (!r->mapped[i]) continue;
    volatile uint64_t *q = (volatile uint64_t *)(r->base + i * PG);
    if (write) q[1] = q[1] + 1;
    else if (q[0] != i) bad++;
  }
  free(order);
  if (bad) logm("readback: %zu pages with unexpected contents", bad);
}

static void op_pageout(Region *r, double fraction) {
  size_t n = count_of(r, fraction), i = 0;
  while (i < n) {  // madvise each mapped run (holes give ENOMEM)
    while (i < n && !r->mapped[i]) i++;
    size_t j = i;
    while (j < n && r->mapped[j]) j++;
    if (j > i && madvise(r->base + i * PG, (j - i) * PG, MADV_PAGEOUT))
      logm("MADV_PAGEOUT: %s", strerror(errno));
    i = j;
  }
}

static Region *race_r;
static size_t race_chunk;
static int race_seq;
static volatile int race_stop;
static volatile long race_read;  // sequential: odd chunks [1, race_read] are fully read

// probe: the middle page of each odd chunk until the munmap thread is done;
// sequential: every page of each odd chunk in order (readahead windows grow into the next chunk)
static void *toucher(void *arg) {
  (void)arg;
  uint64_t sum = 0;
  size_t n = race_r->npages, k = race_chunk;
  for (size_t c = 1; c * k < n && (race_seq || !race_stop); c += 2) {
    size_t lo = race_seq ? c * k : c * k + k / 2, hi = race_seq ? (c + 1) * k : lo + 1;
    for (size_t i = lo; i < hi && i < n; i++)
      if (race_r->mapped[i]) sum += *(volatile uint64_t *)(race_r->base + i * PG);
    __atomic_store_n(&race_read, (long)c, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&race_read, (long)n, __ATOMIC_RELEASE);
  return (void *)(uintptr_t)(sum & 1);
}

static void op_race(Region *r, size_t chunk, int mode) {
  pthread_t th;
  race_r = r; race_chunk = chunk ? chunk : 1; race_stop = 0;
  race_seq = (mode & 2) != 0; race_read = 0;
  pthread_create(&th, NULL, toucher, NULL);
  for (size_t c = 0; c * race_chunk < r->npages; c += 2) {
    // sequential: munmap chunk c once chunk c - 1 is read, while its readahead is in flight
    while (race_seq && c > 0 && __atomic_load_n(&race_read, __ATOMIC_ACQUIRE) < (long)c - 1)
      sched_yield();
    unmap_range(r, c * race_chunk, (c + 1) * race_chunk);
  }
  race_stop = 1;
  pthread_join(th, NULL);
  if (!(mode & 1)) unmap_range(r, 0, r->npages);
}

static void op_fork(Region *r, int children, double fraction) {
  size_t n = count_of(r, fraction);
  for (int k = 0; k < children; k++) {
    pid_t p = fork();
    if (p == 0) {
      uint64_t s = 0;
      for (size_t i = 0; i < n; i++)
        if (r->mapped[i]) s += *(volatile uint64_t *)(r->base + i * PG);
      _exit(s == 42);
    }
  }
  while (wait(NULL) > 0) {}
}

static void op_set(const char *spec) {
  char file[64], value[32], path[600];
  if (sscanf(spec, "%63s %31s", file, value) != 2) die("bad set %s", spec);
  snprintf(path, sizeof path, "%s/%s", cgdir, file);
  int fd = open(path, O_WRONLY);
  if (fd < 0 || write(fd, value, strlen(value)) < 0) logm("set %s=%s failed: %s", file, value,
                                                          strerror(errno));
  else logm("set %s=%s", file, value);
  if (fd >= 0) close(fd);
}

// Swap-cache pages this process still references through a swap pte (not present, but
// mincore() finds the page in the swap cache: 6.1 mm/mincore.c mincore_pte_range).  With the
// parent's count of present swap-cache pages this separates referenced cache from orphans.
static long swapref_cached(void) {
  int pm = open("/proc/self/pagemap", O_RDONLY);
  if (pm < 0) return -1;
  long count = 0;
  unsigned char vec[4096];
  uint64_t ent[4096];
  for (int k = 0; k < nreg; k++) {
    Region *r = &reg[k];
    for (size_t lo = 0; lo < r->npages; lo += 4096) {
      size_t n = r->npages - lo < 4096 ? r->npages - lo : 4096;
      size_t i = 0;
      while (i < n) {  // mincore fails with ENOMEM over holes: do each mapped run
        while (i < n && !r->mapped[lo + i]) i++;
        size_t j = i;
        while (j < n && r->mapped[lo + j]) j++;
        if (j > i) {
          char *a = r->base + (lo + i) * PG;
          ssize_t got = pread(pm, ent, (j - i) * 8, (off_t)((uintptr_t)a / PG) * 8);
          if (got == (ssize_t)((j - i) * 8) && mincore(a, (j - i) * PG, vec) == 0)
            for (size_t q = 0; q < j - i; q++)
              if ((ent[q] & PM_SWAP) && !(ent[q] & PM_PRESENT) && (vec[q] & 1)) count++;
        }
        i = j;
      }
    }
  }
  close(pm);
  return count;
}

static void snapshot_request(int idx) {  // child side: marker, then block until the parent is done
  marker("phase_end %d", idx);
  long req[2] = {idx, swapref_cached()};
  if (write(c2p[1], req, sizeof req) != sizeof req) die("snapshot pipe");
  char ack;
  if (read(p2c[0], &ack, 1) != 1) die("snapshot ack");
}

static void run_ops(long lo, long hi) {
  int sel[MAXREG];
  for (long k = lo; k < hi; k++) {
    Op *o = &ops[k];
    int n;
    switch (o->op) {
    case O_ALLOC: op_alloc((size_t)o->ival, o->region); break;
    case O_TOUCH: case O_READBACK:
      n = pick(o->region, sel);
      for (int i = 0; i < n; i++) op_fault(&reg[sel[i]], o->dval, o->ival, o->op == O_TOUCH);
      break;
    case O_PAGEOUT: n = pick(o->region, sel); for (int i = 0; i < n; i++) op_pageout(&reg[sel[i]], o->dval); break;
    case O_UNMAP:
      n = pick(o->region, sel);
      for (int i = 0; i < n; i++) unmap_range(&reg[sel[i]], 0, count_of(&reg[sel[i]], o->dval));
      break;
    case O_RACE: n = pick(o->region, sel); for (int i = 0; i < n; i++) op_race(&reg[sel[i]], o->ival, o->ival2); break;
    case O_FORK: n = pick(o->region, sel); for (int i = 0; i < n; i++) op_fork(&reg[sel[i]], o->ival, o->dval); break;
    case O_SLEEP: { struct timespec ts = {(time_t)o->dval, (long)((o->dval - (long)o->dval) * 1e9)};
      while (nanosleep(&ts, &ts) && errno == EINTR) {} break; }
    case O_SET: op_set(o->str); break;
    case O_REPEAT:
      for (int t = 0; t < o->ival; t++) run_ops(k + 1, o->end);
      k = o->end;
      break;
    case O_B: snapshot_request(o->ival); break;
    default: break;
    }
  }
}

static long cg_event(const char *key) {  // memory.events <key>
  char p[600];
  snprintf(p, sizeof p, "%s/memory.events", cgdir);
  if (slurp(p) <= 0) return -1;
  char *s = strstr(sbuf, key);
  return s ? atol(s + strlen(key) + 1) : -1;
}

// After a process exit: the final mmput (exit_mmap, the zap) can run later in another task that
// held a reference to the mm (the sampler reading /proc/<pid>/pagemap).  Wait until
// memory.current has been steady for 30 ms (at most 2 s) so the exit snapshot sees the zap.
static void settle(void) {
  char p[600];
  snprintf(p, sizeof p, "%s/memory.current", cgdir);
  unsigned long long last = ~0ULL;
  int steady = 0;
  for (int i = 0; i < 200 && steady < 3; i++) {
    unsigned long long v = slurp(p) > 0 ? strtoull(sbuf, 0, 10) : 0;
    steady = v == last ? steady + 1 : 0;
    last = v;
    usleep(10000);
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--check")) {  // parse only, run nothing
    load(argv[2]);
    for (long k = 0; k < nops; k++) printf("%s\n", opname[ops[k].op]);
    return 0;
  }
  if (argc != 4) {
    fprintf(stderr, "usage: swapwl <workload> <cgroup dir> <snapshot file>\n"
                    "       swapwl --check <workload>\n");
    return 2;
  }
  t0 = mono_now();
  load(argv[1]);
  cgdir = argv[2];
  FILE *snap = fopen(argv[3], "w");
  if (!snap) die("cannot write %s", argv[3]);
  markfd = open("/sys/kernel/tracing/trace_marker", O_WRONLY);
  signal(SIGPIPE, SIG_IGN);
  rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)seed;
  sample_line(snap, "P-1", cgdir, 0, NULL);  // the baseline (workload start)
  fprintf(snap, "START %.6f\n", mono_now());
  marker("start");
  for (long k = 0; k < nops; k++) {
    if (ops[k].op != O_P) continue;
    long end = k + 1;
    while (end < nops && ops[end].op != O_X) end++;
    if (end >= nops) die("process %s has no X line", ops[k].str);
    if (pipe(c2p) || pipe(p2c)) die("pipe");
    long oom0 = cg_event("oom_kill");
    marker("proc_start %s", ops[k].str);
    fprintf(snap, "PROC %.6f %s\n", mono_now(), ops[k].str);
    fflush(snap);
    pid_t pid = fork();
    if (pid == 0) {
      close(c2p[0]); close(p2c[1]);
      char p[600];
      snprintf(p, sizeof p, "%s/cgroup.procs", cgdir);
      int fd = open(p, O_WRONLY);
      if (fd < 0 || write(fd, "0", 1) != 1) die("cannot join %s", p);
      close(fd);
      logm("process %s runs in %s", ops[k].str, cgdir);
      run_ops(k + 1, end);
      _exit(0);
    }
    close(c2p[1]); close(p2c[0]);
    long req[2];
    char lab[16], extra[64];
    while (read(c2p[0], req, sizeof req) == sizeof req) {
      snprintf(lab, sizeof lab, "P%ld", req[0]);
      snprintf(extra, sizeof extra, " pm.swapref_cached=%ld", req[1]);
      sample_line(snap, lab, cgdir, 1, req[1] >= 0 ? extra : NULL);
      if (write(p2c[1], "k", 1) != 1) break;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    close(c2p[0]); close(p2c[1]);
    long oom1 = cg_event("oom_kill");
    int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0, code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    fprintf(snap, "EXIT %.6f %s status=%d signal=%d oom_kill=%ld\n", mono_now(), ops[k].str,
            code, sig, oom1 - oom0);
    marker("proc_exit %s signal=%d", ops[k].str, sig);
    logm("process %s exit status=%d signal=%d oom_kill=%ld", ops[k].str, code, sig, oom1 - oom0);
    settle();
    snprintf(lab, sizeof lab, "P%d", ops[end].ival);
    marker("phase_end %d", ops[end].ival);
    sample_line(snap, lab, cgdir, 1, " pm.swapref_cached=0");  // nothing in the cgroup maps
    k = end;
  }
  fprintf(snap, "DONE %.6f\n", mono_now());
  fclose(snap);
  marker("done");
  return 0;
}
