// sampler: write one sample line (see sample.h) every <interval_ms> until <stopfile> exists.
// usage: sampler <interval_ms> <out> <cgroupdir> <stopfile>
#include "sample.h"

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: sampler <interval_ms> <out> <cgroupdir> <stopfile>\n");
    return 2;
  }
  int ms = atoi(argv[1]);
  FILE *o = fopen(argv[2], "w");
  if (!o || ms <= 0) { perror("sampler"); return 2; }
  long n = 0;
  double t0 = mono_now();
  while (access(argv[4], F_OK) != 0) {
    double t = mono_now();
    sample_line(o, "S", argv[3], 1, NULL);
    n++;
    long us = ms * 1000L - (long)((mono_now() - t) * 1e6);
    if (us > 0) usleep(us);
  }
  fprintf(o, "END samples=%ld elapsed=%.3f\n", n, mono_now() - t0);
  fclose(o);
  return 0;
}
