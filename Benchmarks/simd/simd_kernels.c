// SIMD benchmark: three kernels written with wasm_simd128.h intrinsics, so that every hot instruction is a
// v128 one (built with -msimd128 -O2 by build.sh). Prints a deterministic checksum; the optional first
// argument scales the number of rounds.
//   saxpy   f32x4 mul/add over 64 Ki floats
//   sad     sum of absolute byte differences (u8x16 sub_sat, or, extadd_pairwise) over 256 KiB
//   blend   i16x8 multiply, shift, narrow and shuffle over 128 Ki pixels
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <wasm_simd128.h>

#define FLOATS (64 * 1024)
#define BYTES (256 * 1024)

static float xs[FLOATS], ys[FLOATS];
static uint8_t a[BYTES], b[BYTES], out[BYTES];

static void saxpy(float k) {
    v128_t kv = wasm_f32x4_splat(k);
    for (int i = 0; i < FLOATS; i += 4) {
        v128_t x = wasm_v128_load(&xs[i]), y = wasm_v128_load(&ys[i]);
        y = wasm_f32x4_add(wasm_f32x4_mul(kv, x), y);
        y = wasm_f32x4_pmin(y, wasm_f32x4_splat(1e6f));
        wasm_v128_store(&ys[i], y);
    }
}

static uint32_t sad(void) {
    v128_t total = wasm_i32x4_splat(0);
    for (int i = 0; i < BYTES; i += 16) {
        v128_t p = wasm_v128_load(&a[i]), q = wasm_v128_load(&b[i]);
        v128_t diff = wasm_v128_or(wasm_u8x16_sub_sat(p, q), wasm_u8x16_sub_sat(q, p));
        v128_t pairs = wasm_u16x8_extadd_pairwise_u8x16(diff);
        total = wasm_i32x4_add(total, wasm_u32x4_extadd_pairwise_u16x8(pairs));
    }
    return wasm_i32x4_extract_lane(total, 0) + wasm_i32x4_extract_lane(total, 1) +
           wasm_i32x4_extract_lane(total, 2) + wasm_i32x4_extract_lane(total, 3);
}

static void blend(uint8_t alpha) {
    v128_t av = wasm_i16x8_splat(alpha), bv = wasm_i16x8_splat(255 - alpha);
    for (int i = 0; i < BYTES; i += 16) {
        v128_t p = wasm_v128_load(&a[i]), q = wasm_v128_load(&b[i]);
        v128_t lo = wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(p), av),
                                   wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(q), bv));
        v128_t hi = wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(p), av),
                                   wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(q), bv));
        v128_t mixed = wasm_u8x16_narrow_i16x8(wasm_u16x8_shr(lo, 8), wasm_u16x8_shr(hi, 8));
        // Swap neighbouring pixels' channels, as a packed-format conversion would.
        mixed = wasm_i8x16_shuffle(mixed, mixed, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
        wasm_v128_store(&out[i], mixed);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 300;
    uint32_t seed = 12345;
    for (int i = 0; i < FLOATS; i++) {
        seed = seed * 1103515245u + 12345u;
        xs[i] = (float)(seed >> 16) / 65536.0f;
        ys[i] = (float)(i % 97) * 0.5f;
    }
    for (int i = 0; i < BYTES; i++) {
        seed = seed * 1103515245u + 12345u;
        a[i] = (uint8_t)(seed >> 24);
        b[i] = (uint8_t)(seed >> 16);
    }
    uint64_t checksum = 0;
    for (int r = 0; r < rounds; r++) {
        saxpy(0.001f * (float)(r % 7));
        checksum += sad();
        blend((uint8_t)r);
        checksum = checksum * 31 + out[(r * 7919) % BYTES];
        a[r % BYTES] ^= out[(r * 31) % BYTES];
    }
    double ysum = 0;
    for (int i = 0; i < FLOATS; i++) ysum += ys[i];
    printf("simd_kernels: checksum %llu, ysum %.3f\n", (unsigned long long)checksum, ysum);
    return 0;
}
