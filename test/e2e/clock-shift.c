/*
 * A shifted wall clock for one local Worker in the end-to-end tests, so a test can cross midnight UTC or the turn
 * of a month without waiting for it. Preloaded (LD_PRELOAD) into `wrangler dev` and the workerd it starts, it adds
 * an offset to CLOCK_REALTIME, gettimeofday and time; monotonic clocks (timers, timeouts) are left alone.
 *
 * The offset is the signed 64-bit little-endian count of milliseconds in the file named by CLOCK_SHIFT_FILE, mapped
 * shared, so the test moves the clock by rewriting those 8 bytes while the Worker runs (test/e2e/clock.ts).
 *
 * Nothing here allocates or looks symbols up: workerd's allocator reads the clock while it holds its own lock, so a
 * preload that calls malloc on the clock path deadlocks it. The real clock is read with the raw system call.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int64_t *offset_ms;
static volatile int mapped;

static int64_t offset_ns(void) {
  if (!__atomic_load_n(&mapped, __ATOMIC_ACQUIRE)) {
    const char *path = getenv("CLOCK_SHIFT_FILE");
    volatile int64_t *p = 0;
    if (path) {
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        void *m = mmap(0, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (m != MAP_FAILED) p = (volatile int64_t *)m;
      }
    }
    offset_ms = p;
    __atomic_store_n(&mapped, 1, __ATOMIC_RELEASE);
  }
  return offset_ms ? *offset_ms * 1000000LL : 0;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  long r = syscall(SYS_clock_gettime, id, ts);
  if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
    int64_t ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_ns();
    ts->tv_sec = ns / 1000000000LL;
    ts->tv_nsec = ns % 1000000000LL;
  }
  return (int)r;
}

int gettimeofday(struct timeval *tv, void *tz) {
  (void)tz;
  struct timespec ts;
  int r = clock_gettime(CLOCK_REALTIME, &ts);
  if (r == 0) { /* glibc declares tv non-null */
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return r;
}

time_t time(time_t *t) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (t) *t = ts.tv_sec;
  return ts.tv_sec;
}
