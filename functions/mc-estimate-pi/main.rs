// Reads a sample count n and prints a Monte Carlo estimate of pi from n points with a fixed-seed
// generator (the same input gives the same output). n is clamped to [1, 50000000]; default 1000000.
use std::io::Read;

const MAX_N: u64 = 50_000_000;

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let n = input.trim().parse::<u64>().unwrap_or(1_000_000).max(1).min(MAX_N);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut inside = 0u64;
    for _ in 0..n {
        let (x, y) = (next(), next());
        if x * x + y * y <= 1.0 { inside += 1; }
    }
    println!("{}", 4.0 * inside as f64 / n as f64);
}
