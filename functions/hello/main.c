/* Prints a greeting: the smallest useful function, for start-up measurements. */
#include <stdio.h>

int main(void) {
    puts("Hello from Nebula!");
    return 0;
}
