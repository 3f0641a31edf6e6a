/* Built by `make BUILD=valgrind` with the valgrind tree's flags and run under valgrind once by
 * tests/run.sh before the valgrind pass: if valgrind cannot decode what the compiler emits for
 * -march=$(VALGRIND_MARCH) (as 3.19 cannot decode AVX-512), the runner says so once, instead of every
 * unit test dying with SIGILL. The loops are the kinds the code base has: byte fills and compares,
 * float dot products and conversions, gathers by index, which -O3 vectorizes with the widest
 * instructions the -march allows. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile int seed = 3;

int main(void)
{
    static unsigned char bytes[4096];
    static float a[1024], b[1024];
    static int32_t ids[1024];
    static uint16_t half[1024];
    memset(bytes, seed, sizeof bytes);
    int same = 0;
    for (size_t i = 0; i < sizeof bytes; i++)
        same += bytes[i] == (unsigned char)seed;
    for (int i = 0; i < 1024; i++) {
        a[i] = (float)(i * seed) * 0.5f;
        b[i] = (float)(1024 - i);
        ids[i] = (i * 7 + seed) & 1023;
    }
    float dot = 0.0f, gathered = 0.0f;
    for (int i = 0; i < 1024; i++)
        dot += a[i] * b[i];
    for (int i = 0; i < 1024; i++)
        gathered += a[ids[i]];
    for (int i = 0; i < 1024; i++) {
        uint32_t u;
        memcpy(&u, &a[i], 4);
        half[i] = (uint16_t)(((u >> 16) & 0x8000u) | (((u >> 13) - (112u << 10)) & 0x7fffu));
    }
    unsigned hsum = 0;
    for (int i = 0; i < 1024; i++)
        hsum += half[i];
    printf("%d %g %g %u\n", same, (double)dot, (double)gathered, hsum);
    return same == (int)sizeof bytes ? 0 : 1;
}
