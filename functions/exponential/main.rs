// Reads x and prints e^x, summed as a Taylor series (to exercise floating point), e.g. 1 -> 2.718281828459045.
// x is clamped to [-700, 700] (beyond, e^x leaves the range of f64). Input that does not parse counts as 1.
use std::io::Read;

fn exp(x: f64) -> f64 {
    // e^x = (e^(x/2^k))^(2^k): reduce until |x| < 1, where the series converges fast.
    let mut k = 0;
    let mut r = x;
    while r.abs() > 1.0 {
        r /= 2.0;
        k += 1;
    }
    let (mut sum, mut term) = (1.0f64, 1.0f64);
    for i in 1..30 {
        term *= r / i as f64;
        sum += term;
    }
    for _ in 0..k {
        sum *= sum;
    }
    sum
}

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let x = input.trim().parse::<f64>().ok().filter(|x| x.is_finite()).unwrap_or(1.0).max(-700.0).min(700.0);
    println!("{}", exp(x));
}
