// The seed's function: reads n from stdin and prints the first n Fibonacci numbers as Rust's `{:?}` of a
// Vec<u64>. Input that does not parse counts as 1; n is clamped to 93 (the last that fits in u64).
//   echo 10 | wasmrun functions/fib.wasm   ->   [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
use std::io::Read;

const MAX_N: usize = 93;

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let n = input.trim().parse::<usize>().unwrap_or(1).min(MAX_N);
    let mut numbers: Vec<u64> = Vec::with_capacity(n);
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        numbers.push(a);
        let next = a.wrapping_add(b);
        a = b;
        b = next;
    }
    println!("{:?}", numbers);
}
