/* WASI behaviours checked by Tests/WasmrunTests: `wasi-checks CHECK [ARGS]` prints what it observed.
 * Built to wasi-checks.wasm by build.sh (committed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static long long now(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int check_clocks(void) {
    long long previous = now(CLOCK_MONOTONIC);
    for (int i = 0; i < 1000; i++) {
        long long t = now(CLOCK_MONOTONIC);
        if (t < previous) { puts("monotonic went backwards"); return 1; }
        previous = t;
    }
    puts("monotonic ok");
    /* 2020-01-01 in nanoseconds */
    puts(now(CLOCK_REALTIME) > 1577836800LL * 1000000000LL ? "realtime ok" : "realtime wrong");
    struct timespec res;
    clock_getres(CLOCK_MONOTONIC, &res);
    puts(res.tv_sec == 0 && res.tv_nsec > 0 ? "resolution ok" : "resolution wrong");
    return 0;
}

static int check_random(void) {
    unsigned char a[32], b[32];
    if (getentropy(a, sizeof a) || getentropy(b, sizeof b)) { puts("getentropy failed"); return 1; }
    puts(memcmp(a, b, sizeof a) ? "random ok" : "random constant");
    return 0;
}

static int check_sleep(void) {
    long long start = now(CLOCK_MONOTONIC);
    struct timespec t = {0, 50 * 1000000};
    nanosleep(&t, NULL);
    long long elapsed = now(CLOCK_MONOTONIC) - start;
    puts(elapsed >= 50 * 1000000LL ? "slept ok" : "woke too early");
    return 0;
}

static int check_files(void) {
    FILE *f = fopen("/data/new.txt", "w");
    if (!f) { printf("create failed: %s\n", strerror(errno)); return 1; }
    fputs("written by the guest\n", f);
    fclose(f);
    char line[64] = {0};
    f = fopen("/data/new.txt", "r");
    if (!f || !fgets(line, sizeof line, f)) { puts("read back failed"); return 1; }
    fclose(f);
    printf("read back: %s", line);
    f = fopen("/data/given.txt", "r");
    if (f && fgets(line, sizeof line, f)) printf("host file: %s", line);
    if (f) fclose(f);
    if (mkdir("/data/sub", 0755) == 0 && rename("/data/new.txt", "/data/sub/moved.txt") == 0) puts("mkdir and rename ok");
    struct stat st;
    if (stat("/data/sub/moved.txt", &st) == 0) printf("size %lld\n", (long long)st.st_size);
    DIR *d = opendir("/data/sub");
    struct dirent *e;
    while (d && (e = readdir(d))) if (e->d_name[0] != '.') printf("entry %s\n", e->d_name);
    if (d) closedir(d);
    if (unlink("/data/sub/moved.txt") == 0 && rmdir("/data/sub") == 0) puts("unlink and rmdir ok");
    int fd = open("/data/../outside.txt", O_RDONLY);
    printf("escape with ..: %s\n", fd < 0 ? strerror(errno) : "OPENED");
    fd = open("/data/link-out", O_RDONLY);
    printf("escape by symlink: %s\n", fd < 0 ? strerror(errno) : "OPENED");
    fd = open("/etc/passwd", O_RDONLY);
    printf("absolute path outside: %s\n", fd < 0 ? strerror(errno) : "OPENED");
    return 0;
}

static int check_no_files(void) {
    FILE *f = fopen("/data/given.txt", "r");
    printf("without --dir: %s\n", f ? "OPENED" : strerror(errno));
    return 0;
}

static int check_enosys(void) {
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_sock_accept(3, 0, &fd);
    printf("sock_accept: %d\n", (int)e);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fputs("usage: wasi-checks CHECK\n", stderr); return 2; }
    const char *check = argv[1];
    if (!strcmp(check, "clocks")) return check_clocks();
    if (!strcmp(check, "random")) return check_random();
    if (!strcmp(check, "sleep")) return check_sleep();
    if (!strcmp(check, "files")) return check_files();
    if (!strcmp(check, "no-files")) return check_no_files();
    if (!strcmp(check, "enosys")) return check_enosys();
    if (!strcmp(check, "stderr")) { fputs("to stderr\n", stderr); puts("to stdout"); return 0; }
    if (!strcmp(check, "exit")) return argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(check, "trap")) { volatile int zero = 0; return 10 / zero; }
    fprintf(stderr, "unknown check %s\n", check);
    return 2;
}
