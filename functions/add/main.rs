// Reads two integers (separated by whitespace or a comma) and prints their sum.
//   echo "2 40" | wasmrun functions/add.wasm   ->   42
use std::io::Read;
use std::process::exit;

fn main() {
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let numbers: Vec<&str> = input.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).collect();
    if numbers.len() != 2 {
        eprintln!("add: expected two integers, got {:?}", input.trim());
        exit(1);
    }
    let (a, b) = match (numbers[0].parse::<i64>(), numbers[1].parse::<i64>()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => {
            eprintln!("add: expected two integers, got {:?}", input.trim());
            exit(1);
        }
    };
    match a.checked_add(b) {
        Some(sum) => println!("{}", sum),
        None => {
            eprintln!("add: {} + {} overflows a 64-bit integer", a, b);
            exit(1);
        }
    }
}
