;; binary-trees (the Computer Language Benchmarks Game), built from GC structs: allocate and walk complete
;; binary trees of depth 4, 6, ... n (2^(n - d + 4) of each), one stretch tree of depth n + 1 and one long-lived
;; tree of depth n. `run(n)` returns the sum of all node counts, a checksum that does not depend on the engine.
(module
  (type $node (struct (field $left (ref null $node)) (field $right (ref null $node))))

  (func $bottom_up (param $depth i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $depth))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else (struct.new $node
        (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))
        (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))))))

  (func $check (param $tree (ref $node)) (result i32)
    (local $left (ref null $node))
    (local.set $left (struct.get $node $left (local.get $tree)))
    (if (result i32) (ref.is_null (local.get $left))
      (then (i32.const 1))
      (else (i32.add (i32.const 1)
        (i32.add (call $check (ref.as_non_null (local.get $left)))
                 (call $check (ref.as_non_null (struct.get $node $right (local.get $tree)))))))))

  (func (export "run") (param $n i32) (result i32)
    (local $max i32) (local $long (ref null $node)) (local $depth i32) (local $iterations i32) (local $i i32)
    (local $sum i32)
    (local.set $max (select (local.get $n) (i32.const 6) (i32.gt_s (local.get $n) (i32.const 6))))
    (local.set $sum (call $check (call $bottom_up (i32.add (local.get $max) (i32.const 1)))))
    (local.set $long (call $bottom_up (local.get $max)))
    (local.set $depth (i32.const 4))
    (block $done
      (loop $depths
        (br_if $done (i32.gt_s (local.get $depth) (local.get $max)))
        (local.set $iterations (i32.shl (i32.const 1) (i32.add (i32.sub (local.get $max) (local.get $depth)) (i32.const 4))))
        (local.set $i (i32.const 0))
        (loop $trees
          (local.set $sum (i32.add (local.get $sum) (call $check (call $bottom_up (local.get $depth)))))
          (br_if $trees (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $iterations))))
        (local.set $depth (i32.add (local.get $depth) (i32.const 2)))
        (br $depths)))
    (i32.add (local.get $sum) (call $check (ref.as_non_null (local.get $long))))))
