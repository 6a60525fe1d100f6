/* Copies standard input to standard output unchanged (a throughput test of the I/O path). */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    static char buffer[65536];
    for (;;) {
        ssize_t n = read(0, buffer, sizeof buffer);
        if (n < 0) { perror("echo: read"); return 1; }
        if (n == 0) return 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(1, buffer + done, (size_t)(n - done));
            if (w < 0) { perror("echo: write"); return 1; }
            done += w;
        }
    }
}
