// A Rust program heavy on the standard library (formatting, collections, sorting, hashing, monomorphized over
// many integer types): about 1.6 MB of wasm at -C opt-level=2, for timing start-up on a mid-sized module
// (Benchmarks/startup-bench.sh). What it prints does not matter; it reads stdin and runs most of its code.
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque, BinaryHeap};
use std::fmt::Write as _;
use std::io::{self, Read, Write};

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Value { Null, Bool(bool), Num(f64), Str(String), List(Vec<Value>), Map(BTreeMap<String, Value>) }

fn parse(s: &[u8], i: &mut usize) -> Result<Value, String> {
    while *i < s.len() && (s[*i] as char).is_whitespace() { *i += 1; }
    if *i >= s.len() { return Err("eof".into()); }
    match s[*i] {
        b'n' => { *i += 4; Ok(Value::Null) }
        b't' => { *i += 4; Ok(Value::Bool(true)) }
        b'f' => { *i += 5; Ok(Value::Bool(false)) }
        b'"' => { *i += 1; let st = *i; while s[*i] != b'"' { *i += 1; } let r = String::from_utf8_lossy(&s[st..*i]).into_owned(); *i += 1; Ok(Value::Str(r)) }
        b'[' => { *i += 1; let mut v = Vec::new(); loop { while (s[*i] as char).is_whitespace() { *i += 1; } if s[*i] == b']' { *i += 1; break; } v.push(parse(s, i)?); while (s[*i] as char).is_whitespace() { *i += 1; } if s[*i] == b',' { *i += 1; } } Ok(Value::List(v)) }
        b'{' => { *i += 1; let mut m = BTreeMap::new(); loop { while (s[*i] as char).is_whitespace() { *i += 1; } if s[*i] == b'}' { *i += 1; break; } let k = match parse(s, i)? { Value::Str(k) => k, other => format!("{:?}", other) }; while s[*i] != b':' { *i += 1; } *i += 1; let v = parse(s, i)?; m.insert(k, v); while (s[*i] as char).is_whitespace() { *i += 1; } if s[*i] == b',' { *i += 1; } } Ok(Value::Map(m)) }
        _ => { let st = *i; while *i < s.len() && (s[*i] == b'-' || s[*i] == b'.' || s[*i] == b'e' || s[*i].is_ascii_digit()) { *i += 1; } std::str::from_utf8(&s[st..*i]).unwrap().parse::<f64>().map(Value::Num).map_err(|e| e.to_string()) }
    }
}

fn stats<T: Clone + Ord + std::fmt::Debug + std::hash::Hash>(items: &[T]) -> String {
    let mut sorted = items.to_vec(); sorted.sort();
    let set: HashSet<T> = items.iter().cloned().collect();
    let mut heap: BinaryHeap<T> = items.iter().cloned().collect();
    let mut dq: VecDeque<T> = VecDeque::new();
    while let Some(x) = heap.pop() { dq.push_front(x); }
    format!("{} items, {} distinct, first {:?}, last {:?}, deque {:?}", items.len(), set.len(), sorted.first(), sorted.last(), dq.front())
}

fn main() {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    let mut i = 0;
    let v = parse(input.as_bytes(), &mut i).unwrap_or(Value::Null);
    let mut out = String::new();
    writeln!(out, "{:#?}", v).unwrap();
    let words: Vec<String> = input.split_whitespace().map(|w| w.to_string()).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for w in &words { *counts.entry(w).or_default() += 1; }
    let nums: Vec<i64> = words.iter().filter_map(|w| w.trim_matches(|c: char| !c.is_ascii_digit() && c != '-').parse().ok()).collect();
    let u: Vec<u32> = nums.iter().map(|n| *n as u32).collect();
    let chars: Vec<char> = input.chars().collect();

    macro_rules! more { ($($t:ty),*) => { $( { let v: Vec<$t> = nums.iter().map(|n| *n as $t).collect(); writeln!(out, "{}", stats(&v)).unwrap(); let mut m: BTreeMap<$t, Vec<$t>> = BTreeMap::new(); for x in &v { m.entry(*x).or_default().push(*x); } writeln!(out, "{:?} {:#?}", m.len(), m.iter().next()).unwrap(); let h: HashMap<$t, String> = v.iter().map(|x| (*x, format!("{:?}/{:>8?}", x, x))).collect(); writeln!(out, "{}", h.len()).unwrap(); } )* } }
    more!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, usize, isize);
    macro_rules! pairs { ($($a:ty, $b:ty);*) => { $( { let v: Vec<($a, $b)> = nums.iter().map(|n| (*n as $a, (*n * 3) as $b)).collect(); writeln!(out, "{}", stats(&v)).unwrap(); let s: HashSet<($a, $b)> = v.iter().cloned().collect(); writeln!(out, "{:?}", s.len()).unwrap(); } )* } }
    pairs!(u8, u16; u8, u32; u8, u64; u8, u128; u8, i8; u8, i16; u8, i32; u8, i64; u8, i128; u8, usize; u8, isize; u16, u8; u16, u32; u16, u64; u16, u128; u16, i8; u16, i16; u16, i32; u16, i64; u16, i128; u16, usize; u16, isize; u32, u8; u32, u16; u32, u64; u32, u128; u32, i8; u32, i16; u32, i32; u32, i64; u32, i128; u32, usize; u32, isize; u64, u8; u64, u16; u64, u32; u64, u128; u64, i8; u64, i16; u64, i32; u64, i64; u64, i128; u64, usize; u64, isize; u128, u8; u128, u16; u128, u32; u128, u64; u128, i8; u128, i16; u128, i32; u128, i64; u128, i128; u128, usize; u128, isize; i8, u8; i8, u16; i8, u32; i8, u64; i8, u128; i8, i16; i8, i32; i8, i64; i8, i128; i8, usize; i8, isize; i16, u8; i16, u16; i16, u32; i16, u64; i16, u128; i16, i8; i16, i32; i16, i64; i16, i128; i16, usize; i16, isize; i32, u8; i32, u16; i32, u32; i32, u64; i32, u128; i32, i8; i32, i16; i32, i64; i32, i128; i32, usize; i32, isize; i64, u8; i64, u16; i64, u32; i64, u64; i64, u128; i64, i8; i64, i16; i64, i32; i64, i128; i64, usize; i64, isize; i128, u8; i128, u16; i128, u32; i128, u64; i128, u128; i128, i8; i128, i16; i128, i32; i128, i64; i128, usize; i128, isize; usize, u8; usize, u16; usize, u32; usize, u64; usize, u128; usize, i8; usize, i16; usize, i32; usize, i64; usize, i128; usize, isize; isize, u8; isize, u16; isize, u32; isize, u64; isize, u128; isize, i8; isize, i16; isize, i32; isize, i64);
    writeln!(out, "{}", stats(&words)).unwrap();
    writeln!(out, "{}", stats(&nums)).unwrap();
    writeln!(out, "{}", stats(&u)).unwrap();
    writeln!(out, "{}", stats(&chars)).unwrap();
    let mut keys: Vec<_> = counts.into_iter().collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (k, c) in keys.iter().take(5) { writeln!(out, "{:>10} {:<5} {:e} {:x}", k, c, *c as f64 / 3.0, c).unwrap(); }
    io::stdout().write_all(out.as_bytes()).unwrap();
    if let Ok(dir) = std::fs::read_dir(".") { for e in dir.flatten() { eprintln!("{:?}", e.path()); } }
}
