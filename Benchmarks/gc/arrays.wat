;; An array workload: `run(rounds)` builds, per round, a table of 512 rows (an array of references to arrays of
;; 256 f64), fills each row, copies it into a fresh row with array.copy, and sums the copies' products with a
;; row kept from the first round; a byte array (array i8) counts through a sieve of 65,536 each round. All of
;; it but the first row is garbage by the next round. Returns a checksum (the integer parts of the sums).
(module
  (type $row (array (mut f64)))
  (type $table (array (mut (ref null $row))))
  (type $bytes (array (mut i8)))

  (func $row (param $seed i32) (result (ref $row))
    (local $r (ref $row)) (local $i i32)
    (local.set $r (array.new_default $row (i32.const 256)))
    (loop $fill
      (array.set $row (local.get $r) (local.get $i)
        (f64.convert_i32_s (i32.rem_s (i32.mul (i32.add (local.get $seed) (local.get $i)) (i32.const 7919)) (i32.const 1000))))
      (br_if $fill (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 256))))
    (local.get $r))

  (func $sieve (result i32)
    (local $b (ref $bytes)) (local $i i32) (local $j i32) (local $count i32)
    (local.set $b (array.new $bytes (i32.const 1) (i32.const 65536)))
    (local.set $i (i32.const 2))
    (loop $outer
      (if (array.get_u $bytes (local.get $b) (local.get $i))
        (then
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (local.set $j (i32.mul (local.get $i) (local.get $i)))
          (block $end (loop $inner
            (br_if $end (i32.ge_u (local.get $j) (i32.const 65536)))
            (array.set $bytes (local.get $b) (local.get $j) (i32.const 0))
            (local.set $j (i32.add (local.get $j) (local.get $i)))
            (br $inner)))))
      (br_if $outer (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 65536))))
    (local.get $count))

  (func (export "run") (param $rounds i32) (result i64)
    (local $keep (ref $row)) (local $t (ref $table)) (local $copy (ref $row)) (local $round i32) (local $k i32)
    (local $i i32) (local $sum f64) (local $check i64)
    (local.set $keep (call $row (i32.const 1)))
    (loop $rounds
      (local.set $t (array.new_default $table (i32.const 512)))
      (local.set $k (i32.const 0))
      (loop $rows
        (array.set $table (local.get $t) (local.get $k) (call $row (i32.add (local.get $k) (local.get $round))))
        (local.set $copy (array.new_default $row (i32.const 256)))
        (array.copy $row $row (local.get $copy) (i32.const 0)
          (ref.as_non_null (array.get $table (local.get $t) (local.get $k))) (i32.const 0) (i32.const 256))
        (local.set $sum (f64.const 0))
        (local.set $i (i32.const 0))
        (loop $dot
          (local.set $sum (f64.add (local.get $sum)
            (f64.mul (array.get $row (local.get $copy) (local.get $i)) (array.get $row (local.get $keep) (local.get $i)))))
          (br_if $dot (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 256))))
        (local.set $check (i64.add (local.get $check) (i64.trunc_f64_s (local.get $sum))))
        (br_if $rows (i32.lt_s (local.tee $k (i32.add (local.get $k) (i32.const 1))) (i32.const 512))))
      (local.set $check (i64.add (local.get $check) (i64.extend_i32_s (call $sieve))))
      (br_if $rounds (i32.lt_s (local.tee $round (i32.add (local.get $round) (i32.const 1))) (local.get $rounds))))
    (local.get $check)))
