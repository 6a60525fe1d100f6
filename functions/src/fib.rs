// Reads a count n from standard input and prints the first n Fibonacci numbers as a list:
//   echo 10 | wasmrun functions/fib.wasm   ->   [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
// Bad input is reported on standard error with exit code 1.
use std::io::{self, Read};
use std::process;

fn main() {
    let mut input = String::new();
    if let Err(e) = io::stdin().read_to_string(&mut input) {
        eprintln!("fib: cannot read input: {}", e);
        process::exit(1);
    }
    let n: usize = match input.trim().parse() {
        Ok(n) if n <= 93 => n,
        Ok(_) => {
            eprintln!("fib: n must be at most 93 (larger values overflow u64)");
            process::exit(1);
        }
        Err(_) => {
            eprintln!("fib: expected a whole number, got {:?}", input.trim());
            process::exit(1);
        }
    };
    let mut numbers: Vec<u64> = Vec::with_capacity(n);
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        numbers.push(a);
        let next = a + b;
        a = b;
        b = next;
    }
    println!("{:?}", numbers);
}
