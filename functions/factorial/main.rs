// Reads n and prints n!. n is clamped to 34, the largest whose factorial fits in 128 bits.
//   echo 20 | wasmrun functions/factorial.wasm   ->   2432902008176640000
use std::io::Read;

const MAX_N: u32 = 34;

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let n = input.trim().parse::<u32>().unwrap_or(1).min(MAX_N);
    let factorial = (1..=n as u128).product::<u128>();
    println!("{}", factorial);
}
