// Reads n and prints fib(n), computed by naive recursion (a benchmark of calls). n is clamped to 40.
//   echo 30 | wasmrun functions/fibonacci-recursive.wasm   ->   832040
use std::io::Read;

const MAX_N: u64 = 40;

fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let n = input.trim().parse::<u64>().unwrap_or(1).min(MAX_N);
    println!("{}", fib(n));
}
