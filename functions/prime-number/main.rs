// Reads n and prints the n-th prime (the 1st is 2). n is clamped to [1, 1000000].
//   echo 1000 | wasmrun functions/prime-number.wasm   ->   7919
use std::io::Read;

const MAX_N: usize = 1_000_000;

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let n = input.trim().parse::<usize>().unwrap_or(1).max(1).min(MAX_N);
    // The n-th prime is below n (ln n + ln ln n) for n >= 6.
    let nf = n as f64;
    let limit = if n < 6 { 15 } else { (nf * (nf.ln() + nf.ln().ln())) as usize + 1 };
    let mut composite = vec![false; limit + 1];
    let mut count = 0;
    for i in 2..=limit {
        if composite[i] { continue; }
        count += 1;
        if count == n {
            println!("{}", i);
            return;
        }
        let mut j = i * i;
        while j <= limit {
            composite[j] = true;
            j += i;
        }
    }
}
