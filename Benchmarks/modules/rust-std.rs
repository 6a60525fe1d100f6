use std::collections::{BTreeMap, HashMap, HashSet, VecDeque, BinaryHeap};
use std::io::{self, Read, Write};
use std::fmt::Write as FmtWrite;

macro_rules! gen_mod {
    ($($name:ident : $t:ty),*) => {
        $(
        mod $name {
            use super::*;
            pub fn run(input: &str) -> String {
                let mut m: BTreeMap<$t, Vec<String>> = BTreeMap::new();
                let mut h: HashMap<String, $t> = HashMap::new();
                let mut s: HashSet<$t> = HashSet::new();
                let mut q: VecDeque<$t> = VecDeque::new();
                let mut heap: BinaryHeap<$t> = BinaryHeap::new();
                for (i, w) in input.split_whitespace().enumerate() {
                    let v = (i as u64 % 100) as $t;
                    m.entry(v).or_default().push(w.to_string());
                    h.insert(w.to_uppercase(), v);
                    s.insert(v);
                    q.push_back(v);
                    heap.push(v);
                    if q.len() > 10 { q.pop_front(); }
                }
                let mut out = String::new();
                for (k, v) in &m { let _ = writeln!(out, "{:?} {:?}", k, v); }
                let mut keys: Vec<_> = h.keys().cloned().collect();
                keys.sort();
                keys.dedup();
                let _ = writeln!(out, "{:?} {} {:?} {:?}", keys, s.len(), q, heap.into_sorted_vec());
                out
            }
        }
        )*
    };
}
gen_mod!(a1: u8, a2: u16, a3: u32, a4: u64, a5: i8, a6: i16, a7: i32, a8: i64, a9: u128, a10: i128, a11: usize, a12: isize, a13: u32);

fn main() {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    let mut out = io::stdout();
    for f in [a1::run, a2::run, a3::run, a4::run, a5::run, a6::run, a7::run, a8::run, a9::run, a10::run, a11::run, a12::run] {
        out.write_all(f(&input).as_bytes()).unwrap();
    }
    let _ = a13::run;
    let x: Vec<f64> = input.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    println!("{:?} {:e}", x, x.iter().sum::<f64>());
}
