;; json-check: is the request body (stdin) one well-formed JSON value (RFC 8259)?
;;
;;   echo '{"a": [1, 2.5e3, true]}' | wasmrun functions/json-check.wat
;;   {"valid": true, "values": 5, "depth": 2}
;;   echo '[1, 2' | wasmrun functions/json-check.wat
;;   {"valid": false, "offset": 5, "error": "expected ',' or ']'"}
;;
;; A recursive-descent parser written in the text format, so that it needs no toolchain: nebula-serve serves
;; this file as it is. It shows WebAssembly 3.0's exception handling and tail calls at work in a function:
;; any error, however deep in the nesting, is a `throw $syntax_error` that unwinds every parser frame to the
;; one `try_table` in `_start`; whitespace and string bodies are skipped by tail-recursive functions
;; (`return_call`), which run in constant stack space however long the run. Nesting is limited to 512 levels,
;; so hostile input cannot exhaust the call stack. Exit status 0 either way: the verdict is the output.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))

  ;; The payload: the byte offset of the error and the address of its NUL-terminated message.
  (tag $syntax_error (param i32 i32))

  ;; 0..16: an iovec and a count for WASI; 256..: messages, 32 bytes apart; 1024..2048: the output;
  ;; 65536..: the input, growing with it.
  (memory (export "memory") 2)
  (data (i32.const 256) "unexpected end of input")
  (data (i32.const 288) "unexpected character")
  (data (i32.const 320) "nesting deeper than 512")
  (data (i32.const 352) "expected a string key")
  (data (i32.const 384) "expected ':'")
  (data (i32.const 416) "expected ',' or '}'")
  (data (i32.const 448) "expected ',' or ']'")
  (data (i32.const 480) "unterminated string")
  (data (i32.const 512) "invalid escape")
  (data (i32.const 544) "invalid unicode escape")
  (data (i32.const 576) "control character in string")
  (data (i32.const 608) "invalid number")
  (data (i32.const 640) "invalid literal")
  (data (i32.const 672) "trailing characters")
  (data (i32.const 704) "input too large")
  (data (i32.const 736) "cannot read the input")
  (data (i32.const 768) "true")
  (data (i32.const 776) "false")
  (data (i32.const 784) "null")
  (data (i32.const 800) "{\"valid\": true, \"values\": ")
  (data (i32.const 832) ", \"depth\": ")
  (data (i32.const 848) "}\n")
  (data (i32.const 864) "{\"valid\": false, \"offset\": ")
  (data (i32.const 896) ", \"error\": \"")
  (data (i32.const 912) "\"}\n")

  (global $input i32 (i32.const 65536))
  (global $pos (mut i32) (i32.const 65536))
  (global $end (mut i32) (i32.const 65536))
  (global $out (mut i32) (i32.const 1024))
  (global $values (mut i32) (i32.const 0))
  (global $max_depth (mut i32) (i32.const 0))

  ;; --- errors ---------------------------------------------------------------------------------------------

  (func $fail (param $message i32)
    (throw $syntax_error (i32.sub (global.get $pos) (global.get $input)) (local.get $message)))

  ;; --- reading --------------------------------------------------------------------------------------------

  ;; All of stdin into memory from $input on, growing memory by 1 MiB whenever less than 4 KiB is left
  ;; (up to 1 GiB, so that the arithmetic on addresses never wraps).
  (func $read_input
    (local $free i32)
    (loop $more
      (if (i32.ge_u (memory.size) (i32.const 16384)) (then (call $fail (i32.const 704))))
      (local.set $free (i32.sub (i32.shl (memory.size) (i32.const 16)) (global.get $end)))
      (if (i32.lt_u (local.get $free) (i32.const 4096))
        (then
          (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
            (then (call $fail (i32.const 704))))
          (local.set $free (i32.add (local.get $free) (i32.const 1048576)))))
      (i32.store (i32.const 0) (global.get $end))
      (i32.store (i32.const 4) (local.get $free))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $fail (i32.const 736))))
      (if (i32.load (i32.const 8))
        (then
          (global.set $end (i32.add (global.get $end) (i32.load (i32.const 8))))
          (br $more)))))

  ;; The byte at $pos, or -1 at the end of the input.
  (func $peek (result i32)
    (if (result i32) (i32.lt_u (global.get $pos) (global.get $end))
      (then (i32.load8_u (global.get $pos)))
      (else (i32.const -1))))

  (func $advance
    (global.set $pos (i32.add (global.get $pos) (i32.const 1))))

  ;; --- the grammar ----------------------------------------------------------------------------------------

  ;; ws = *( %x20 / %x09 / %x0A / %x0D ), one byte per (tail) call.
  (func $skip_whitespace
    (local $c i32)
    (local.set $c (call $peek))
    (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
                (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13))))
      (then
        (call $advance)
        (return_call $skip_whitespace))))

  (func $value (param $depth i32)
    (local $c i32)
    (global.set $values (i32.add (global.get $values) (i32.const 1)))
    (call $skip_whitespace)
    (local.set $c (call $peek))
    (if (i32.eq (local.get $c) (i32.const -1)) (then (call $fail (i32.const 256))))
    (if (i32.eq (local.get $c) (i32.const 123)) (then (call $object (local.get $depth)) (return)))  ;; {
    (if (i32.eq (local.get $c) (i32.const 91)) (then (call $array (local.get $depth)) (return)))    ;; [
    (if (i32.eq (local.get $c) (i32.const 34)) (then (call $advance) (call $string_body) (return))) ;; "
    (if (i32.or (i32.eq (local.get $c) (i32.const 45))                                            ;; - 0-9
                (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
      (then (call $number) (return)))
    (if (i32.eq (local.get $c) (i32.const 116)) (then (call $literal (i32.const 768)) (return))) ;; true
    (if (i32.eq (local.get $c) (i32.const 102)) (then (call $literal (i32.const 776)) (return))) ;; false
    (if (i32.eq (local.get $c) (i32.const 110)) (then (call $literal (i32.const 784)) (return))) ;; null
    (call $fail (i32.const 288)))

  ;; Opens a container one level deeper than $depth: the only place nesting grows, so the only check.
  (func $open (param $depth i32) (result i32)
    (if (i32.ge_u (local.get $depth) (i32.const 512)) (then (call $fail (i32.const 320))))
    (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
    (if (i32.gt_u (local.get $depth) (global.get $max_depth))
      (then (global.set $max_depth (local.get $depth))))
    (call $advance)
    (call $skip_whitespace)
    (local.get $depth))

  (func $object (param $depth i32)
    (local.set $depth (call $open (local.get $depth)))
    (if (i32.eq (call $peek) (i32.const 125)) (then (call $advance) (return)))  ;; {}
    (loop $member
      (call $skip_whitespace)
      (if (i32.ne (call $peek) (i32.const 34)) (then (call $fail (i32.const 352))))
      (call $advance)
      (call $string_body)
      (call $skip_whitespace)
      (if (i32.ne (call $peek) (i32.const 58)) (then (call $fail (i32.const 384))))  ;; :
      (call $advance)
      (call $value (local.get $depth))
      (call $skip_whitespace)
      (if (i32.eq (call $peek) (i32.const 44)) (then (call $advance) (br $member)))  ;; ,
      (if (i32.ne (call $peek) (i32.const 125)) (then (call $fail (i32.const 416)))))
    (call $advance))

  (func $array (param $depth i32)
    (local.set $depth (call $open (local.get $depth)))
    (if (i32.eq (call $peek) (i32.const 93)) (then (call $advance) (return)))  ;; []
    (loop $element
      (call $value (local.get $depth))
      (call $skip_whitespace)
      (if (i32.eq (call $peek) (i32.const 44)) (then (call $advance) (br $element)))  ;; ,
      (if (i32.ne (call $peek) (i32.const 93)) (then (call $fail (i32.const 448)))))
    (call $advance))

  ;; After the opening quote, through the closing one; one character or escape per (tail) call.
  (func $string_body
    (local $c i32)
    (local.set $c (call $peek))
    (if (i32.eq (local.get $c) (i32.const -1)) (then (call $fail (i32.const 480))))
    (if (i32.eq (local.get $c) (i32.const 34)) (then (call $advance) (return)))
    (if (i32.lt_u (local.get $c) (i32.const 32)) (then (call $fail (i32.const 576))))
    (call $advance)
    (if (i32.eq (local.get $c) (i32.const 92))  ;; backslash
      (then
        (local.set $c (call $peek))
        (block $simple
          (br_if $simple (i32.eq (local.get $c) (i32.const 34)))   ;; \"
          (br_if $simple (i32.eq (local.get $c) (i32.const 92)))   ;; \\
          (br_if $simple (i32.eq (local.get $c) (i32.const 47)))   ;; \/
          (br_if $simple (i32.eq (local.get $c) (i32.const 98)))   ;; \b
          (br_if $simple (i32.eq (local.get $c) (i32.const 102)))  ;; \f
          (br_if $simple (i32.eq (local.get $c) (i32.const 110)))  ;; \n
          (br_if $simple (i32.eq (local.get $c) (i32.const 114)))  ;; \r
          (br_if $simple (i32.eq (local.get $c) (i32.const 116)))  ;; \t
          (if (i32.ne (local.get $c) (i32.const 117)) (then (call $fail (i32.const 512))))
          (call $advance)  ;; \uXXXX
          (call $hex_digit) (call $hex_digit) (call $hex_digit) (call $hex_digit)
          (return_call $string_body))
        (call $advance)))
    (return_call $string_body))

  (func $hex_digit
    (local $c i32)
    (local.set $c (i32.or (call $peek) (i32.const 32)))  ;; lower case (and -1 stays -1)
    (if (i32.eqz (i32.or (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10))
                         (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 6))))
      (then (call $fail (i32.const 544))))
    (call $advance))

  ;; Digits from $pos on; returns how many.
  (func $digits (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (i32.sub (call $peek) (i32.const 48)) (i32.const 10)))
        (call $advance)
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
  (func $number
    (if (i32.eq (call $peek) (i32.const 45)) (then (call $advance)))
    (if (i32.eq (call $peek) (i32.const 48))
      (then (call $advance))
      (else (if (i32.eqz (call $digits)) (then (call $fail (i32.const 608))))))
    (if (i32.eq (call $peek) (i32.const 46))
      (then
        (call $advance)
        (if (i32.eqz (call $digits)) (then (call $fail (i32.const 608))))))
    (if (i32.eq (i32.or (call $peek) (i32.const 32)) (i32.const 101))
      (then
        (call $advance)
        (if (i32.or (i32.eq (call $peek) (i32.const 43)) (i32.eq (call $peek) (i32.const 45)))
          (then (call $advance)))
        (if (i32.eqz (call $digits)) (then (call $fail (i32.const 608)))))))

  ;; The NUL-terminated word at $word, byte for byte.
  (func $literal (param $word i32)
    (loop $next
      (if (i32.load8_u (local.get $word))
        (then
          (if (i32.ne (call $peek) (i32.load8_u (local.get $word))) (then (call $fail (i32.const 640))))
          (call $advance)
          (local.set $word (i32.add (local.get $word) (i32.const 1)))
          (br $next)))))

  ;; --- output ---------------------------------------------------------------------------------------------

  (func $emit (param $text i32)
    (loop $next
      (if (i32.load8_u (local.get $text))
        (then
          (i32.store8 (global.get $out) (i32.load8_u (local.get $text)))
          (global.set $out (i32.add (global.get $out) (i32.const 1)))
          (local.set $text (i32.add (local.get $text) (i32.const 1)))
          (br $next)))))

  ;; Decimal digits of an unsigned number: the digits go first to 1000..1010, backwards.
  (func $emit_number (param $n i32)
    (local $p i32)
    (local.set $p (i32.const 1011))
    (i32.store8 (local.get $p) (i32.const 0))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (call $emit (local.get $p)))

  (func $flush
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.sub (global.get $out) (i32.const 1024)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; --- the command ----------------------------------------------------------------------------------------

  (func (export "_start")
    (local $offset i32)
    (local $message i32)
    (block $invalid (result i32 i32)
      (try_table (catch $syntax_error $invalid)
        (call $read_input)
        (call $value (i32.const 0))
        (call $skip_whitespace)
        (if (i32.ne (call $peek) (i32.const -1)) (then (call $fail (i32.const 672)))))
      (call $emit (i32.const 800))
      (call $emit_number (global.get $values))
      (call $emit (i32.const 832))
      (call $emit_number (global.get $max_depth))
      (call $emit (i32.const 848))
      (call $flush)
      (return))
    (local.set $message)
    (local.set $offset)
    (call $emit (i32.const 864))
    (call $emit_number (local.get $offset))
    (call $emit (i32.const 896))
    (call $emit (local.get $message))
    (call $emit (i32.const 912))
    (call $flush))
)
