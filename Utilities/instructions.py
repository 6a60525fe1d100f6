#!/usr/bin/env python3
"""The one list of WebAssembly instructions (2.0, and the 3.0 proposals Nebula implements).

Every row names an instruction's encoding, its immediates and, for instructions whose typing is a
fixed signature, its operand and result types. `generate-instructions.py` turns this list into
`Sources/WasmParser/Instructions/Opcode.generated.swift`, which the decoder (immediates), the
validator (signatures, alignment, lanes) and the VM's translator all read. Edit here, regenerate,
never edit the generated file by hand.

Row format: (prefix, code, mnemonic, immediate, signature, name, feature)
  prefix     None for single-byte opcodes, 0xFB, 0xFC or 0xFD for prefixed ones (code is then the LEB sub-opcode)
  immediate  one of IMMEDIATES; `memarg:N` / `memarg_lane:N` carry the natural access width N in bytes,
             `lane:N` the lane count
  signature  "params -> results" for instructions typed by a fixed signature, or None where the
             validator has a rule of its own (control, variables, references, tables, select, ...)
  feature    the proposal (a `Features` member) a module must enable to use the instruction; None for 2.0
"""

IMMEDIATES = [
    "none", "block_type", "label", "br_table", "function", "call_indirect", "local", "global",
    "table", "memarg", "memory_zero", "i32", "i64", "f32", "f64", "v128",
    "select_types", "memory_init", "data", "memory_copy", "memory_fill", "table_init", "elem",
    "table_copy", "lane", "memarg_lane", "shuffle", "heap_type", "tag", "try_table", "type_index",
    # GC: a type and a field (struct.get), a type and a count (array.new_fixed), a type and a data or element
    # segment, two array types (array.copy), and br_on_cast's flags, label and two reference types.
    "type_field", "type_count", "type_data", "type_elem", "type_type", "br_on_cast",
]

ROWS = []

def op(code, mnemonic, immediate="none", signature=None, prefix=None, name=None, feature=None):
    ROWS.append((prefix, code, mnemonic, immediate, signature, name, feature))

# Control
op(0x00, "unreachable")
op(0x01, "nop", signature="->")
op(0x02, "block", "block_type")
op(0x03, "loop", "block_type")
op(0x04, "if", "block_type")
op(0x05, "else")
# Exception handling (3.0) and its legacy form
op(0x06, "try", "block_type", feature="legacyExceptions")
op(0x07, "catch", "tag", feature="legacyExceptions")
op(0x08, "throw", "tag", feature="exceptions")
op(0x09, "rethrow", "label", feature="legacyExceptions")
op(0x0A, "throw_ref", feature="exceptions")
op(0x0B, "end")
op(0x0C, "br", "label")
op(0x0D, "br_if", "label")
op(0x0E, "br_table", "br_table")
op(0x0F, "return")
op(0x10, "call", "function")
op(0x11, "call_indirect", "call_indirect")
op(0x12, "return_call", "function", feature="tailCall")
op(0x13, "return_call_indirect", "call_indirect", feature="tailCall")
op(0x14, "call_ref", "type_index", feature="functionReferences")
op(0x15, "return_call_ref", "type_index", feature="tailCall")
op(0x18, "delegate", "label", feature="legacyExceptions")
op(0x19, "catch_all", feature="legacyExceptions")
# Parametric
op(0x1A, "drop")
op(0x1B, "select")
op(0x1C, "select", "select_types", name="selectTyped")
op(0x1F, "try_table", "try_table", feature="exceptions")
# Variables and tables
op(0x20, "local.get", "local")
op(0x21, "local.set", "local")
op(0x22, "local.tee", "local")
op(0x23, "global.get", "global")
op(0x24, "global.set", "global")
op(0x25, "table.get", "table")
op(0x26, "table.set", "table")
# Memory
for code, m, w, t in [(0x28, "i32.load", 4, "i32"), (0x29, "i64.load", 8, "i64"), (0x2A, "f32.load", 4, "f32"),
                      (0x2B, "f64.load", 8, "f64"), (0x2C, "i32.load8_s", 1, "i32"), (0x2D, "i32.load8_u", 1, "i32"),
                      (0x2E, "i32.load16_s", 2, "i32"), (0x2F, "i32.load16_u", 2, "i32"), (0x30, "i64.load8_s", 1, "i64"),
                      (0x31, "i64.load8_u", 1, "i64"), (0x32, "i64.load16_s", 2, "i64"), (0x33, "i64.load16_u", 2, "i64"),
                      (0x34, "i64.load32_s", 4, "i64"), (0x35, "i64.load32_u", 4, "i64")]:
    op(code, m, f"memarg:{w}", f"i32 -> {t}")
for code, m, w, t in [(0x36, "i32.store", 4, "i32"), (0x37, "i64.store", 8, "i64"), (0x38, "f32.store", 4, "f32"),
                      (0x39, "f64.store", 8, "f64"), (0x3A, "i32.store8", 1, "i32"), (0x3B, "i32.store16", 2, "i32"),
                      (0x3C, "i64.store8", 1, "i64"), (0x3D, "i64.store16", 2, "i64"), (0x3E, "i64.store32", 4, "i64")]:
    op(code, m, f"memarg:{w}", f"i32 {t} ->")
# The address type depends on the memory (i32, or i64 for memory64): the validator types these itself.
op(0x3F, "memory.size", "memory_zero")
op(0x40, "memory.grow", "memory_zero")
# Constants
op(0x41, "i32.const", "i32", "-> i32")
op(0x42, "i64.const", "i64", "-> i64")
op(0x43, "f32.const", "f32", "-> f32")
op(0x44, "f64.const", "f64", "-> f64")
# Numeric
def family(start, t, names, sig):
    for i, n in enumerate(names):
        op(start + i, f"{t}.{n}", signature=sig)

family(0x45, "i32", ["eqz"], "i32 -> i32")
family(0x46, "i32", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u".split(), "i32 i32 -> i32")
family(0x50, "i64", ["eqz"], "i64 -> i32")
family(0x51, "i64", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u".split(), "i64 i64 -> i32")
family(0x5B, "f32", "eq ne lt gt le ge".split(), "f32 f32 -> i32")
family(0x61, "f64", "eq ne lt gt le ge".split(), "f64 f64 -> i32")
family(0x67, "i32", "clz ctz popcnt".split(), "i32 -> i32")
family(0x6A, "i32", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr".split(), "i32 i32 -> i32")
family(0x79, "i64", "clz ctz popcnt".split(), "i64 -> i64")
family(0x7C, "i64", "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr".split(), "i64 i64 -> i64")
family(0x8B, "f32", "abs neg ceil floor trunc nearest sqrt".split(), "f32 -> f32")
family(0x92, "f32", "add sub mul div min max copysign".split(), "f32 f32 -> f32")
family(0x99, "f64", "abs neg ceil floor trunc nearest sqrt".split(), "f64 -> f64")
family(0xA0, "f64", "add sub mul div min max copysign".split(), "f64 f64 -> f64")
for code, m, sig in [
    (0xA7, "i32.wrap_i64", "i64 -> i32"), (0xA8, "i32.trunc_f32_s", "f32 -> i32"), (0xA9, "i32.trunc_f32_u", "f32 -> i32"),
    (0xAA, "i32.trunc_f64_s", "f64 -> i32"), (0xAB, "i32.trunc_f64_u", "f64 -> i32"), (0xAC, "i64.extend_i32_s", "i32 -> i64"),
    (0xAD, "i64.extend_i32_u", "i32 -> i64"), (0xAE, "i64.trunc_f32_s", "f32 -> i64"), (0xAF, "i64.trunc_f32_u", "f32 -> i64"),
    (0xB0, "i64.trunc_f64_s", "f64 -> i64"), (0xB1, "i64.trunc_f64_u", "f64 -> i64"), (0xB2, "f32.convert_i32_s", "i32 -> f32"),
    (0xB3, "f32.convert_i32_u", "i32 -> f32"), (0xB4, "f32.convert_i64_s", "i64 -> f32"), (0xB5, "f32.convert_i64_u", "i64 -> f32"),
    (0xB6, "f32.demote_f64", "f64 -> f32"), (0xB7, "f64.convert_i32_s", "i32 -> f64"), (0xB8, "f64.convert_i32_u", "i32 -> f64"),
    (0xB9, "f64.convert_i64_s", "i64 -> f64"), (0xBA, "f64.convert_i64_u", "i64 -> f64"), (0xBB, "f64.promote_f32", "f32 -> f64"),
    (0xBC, "i32.reinterpret_f32", "f32 -> i32"), (0xBD, "i64.reinterpret_f64", "f64 -> i64"),
    (0xBE, "f32.reinterpret_i32", "i32 -> f32"), (0xBF, "f64.reinterpret_i64", "i64 -> f64"),
    (0xC0, "i32.extend8_s", "i32 -> i32"), (0xC1, "i32.extend16_s", "i32 -> i32"),
    (0xC2, "i64.extend8_s", "i64 -> i64"), (0xC3, "i64.extend16_s", "i64 -> i64"), (0xC4, "i64.extend32_s", "i64 -> i64")]:
    op(code, m, signature=sig)
# Reference types
op(0xD0, "ref.null", "heap_type")
op(0xD1, "ref.is_null")
op(0xD2, "ref.func", "function")
op(0xD3, "ref.eq", feature="gc")
op(0xD4, "ref.as_non_null", feature="functionReferences")
op(0xD5, "br_on_null", "label", feature="functionReferences")
op(0xD6, "br_on_non_null", "label", feature="functionReferences")

# 0xFB: garbage collection (3.0). ref.test and ref.cast have a second row for the nullable target type
# (the text format writes both as one mnemonic and tells them by the type).
FB = 0xFB
for code, m, imm in [(0, "struct.new", "type_index"), (1, "struct.new_default", "type_index"),
                     (2, "struct.get", "type_field"), (3, "struct.get_s", "type_field"), (4, "struct.get_u", "type_field"),
                     (5, "struct.set", "type_field"), (6, "array.new", "type_index"), (7, "array.new_default", "type_index"),
                     (8, "array.new_fixed", "type_count"), (9, "array.new_data", "type_data"),
                     (10, "array.new_elem", "type_elem"), (11, "array.get", "type_index"), (12, "array.get_s", "type_index"),
                     (13, "array.get_u", "type_index"), (14, "array.set", "type_index"), (15, "array.len", "none"),
                     (16, "array.fill", "type_index"), (17, "array.copy", "type_type"), (18, "array.init_data", "type_data"),
                     (19, "array.init_elem", "type_elem")]:
    op(code, m, imm, prefix=FB, feature="gc")
op(20, "ref.test", "heap_type", prefix=FB, feature="gc")
op(21, "ref.test", "heap_type", prefix=FB, name="refTestNull", feature="gc")
op(22, "ref.cast", "heap_type", prefix=FB, feature="gc")
op(23, "ref.cast", "heap_type", prefix=FB, name="refCastNull", feature="gc")
op(24, "br_on_cast", "br_on_cast", prefix=FB, feature="gc")
op(25, "br_on_cast_fail", "br_on_cast", prefix=FB, feature="gc")
op(26, "any.convert_extern", prefix=FB, feature="gc")
op(27, "extern.convert_any", prefix=FB, feature="gc")
op(28, "ref.i31", prefix=FB, feature="gc")
op(29, "i31.get_s", prefix=FB, feature="gc")
op(30, "i31.get_u", prefix=FB, feature="gc")

# 0xFC: saturating truncation, bulk memory, tables
FC = 0xFC
for code, m, sig in [(0, "i32.trunc_sat_f32_s", "f32 -> i32"), (1, "i32.trunc_sat_f32_u", "f32 -> i32"),
                     (2, "i32.trunc_sat_f64_s", "f64 -> i32"), (3, "i32.trunc_sat_f64_u", "f64 -> i32"),
                     (4, "i64.trunc_sat_f32_s", "f32 -> i64"), (5, "i64.trunc_sat_f32_u", "f32 -> i64"),
                     (6, "i64.trunc_sat_f64_s", "f64 -> i64"), (7, "i64.trunc_sat_f64_u", "f64 -> i64")]:
    op(code, m, signature=sig, prefix=FC)
op(8, "memory.init", "memory_init", prefix=FC)
op(9, "data.drop", "data", "->", prefix=FC)
op(10, "memory.copy", "memory_copy", prefix=FC)
op(11, "memory.fill", "memory_fill", prefix=FC)
op(12, "table.init", "table_init", prefix=FC)
op(13, "elem.drop", "elem", "->", prefix=FC)
op(14, "table.copy", "table_copy", prefix=FC)
op(15, "table.grow", "table", prefix=FC)
op(16, "table.size", "table", prefix=FC)
op(17, "table.fill", "table", prefix=FC)

# 0xFD: fixed-width SIMD
FD = 0xFD
def simd(code, m, immediate="none", sig=None):
    op(code, m, immediate, sig, prefix=FD)

simd(0x00, "v128.load", "memarg:16", "i32 -> v128")
for i, (m, w) in enumerate([("v128.load8x8_s", 8), ("v128.load8x8_u", 8), ("v128.load16x4_s", 8), ("v128.load16x4_u", 8),
                            ("v128.load32x2_s", 8), ("v128.load32x2_u", 8), ("v128.load8_splat", 1),
                            ("v128.load16_splat", 2), ("v128.load32_splat", 4), ("v128.load64_splat", 8)]):
    simd(0x01 + i, m, f"memarg:{w}", "i32 -> v128")
simd(0x0B, "v128.store", "memarg:16", "i32 v128 ->")
simd(0x0C, "v128.const", "v128", "-> v128")
simd(0x0D, "i8x16.shuffle", "shuffle", "v128 v128 -> v128")
simd(0x0E, "i8x16.swizzle", sig="v128 v128 -> v128")
for i, (m, t) in enumerate([("i8x16.splat", "i32"), ("i16x8.splat", "i32"), ("i32x4.splat", "i32"),
                            ("i64x2.splat", "i64"), ("f32x4.splat", "f32"), ("f64x2.splat", "f64")]):
    simd(0x0F + i, m, sig=f"{t} -> v128")
lanes = [("i8x16.extract_lane_s", 16, "v128 -> i32"), ("i8x16.extract_lane_u", 16, "v128 -> i32"),
         ("i8x16.replace_lane", 16, "v128 i32 -> v128"), ("i16x8.extract_lane_s", 8, "v128 -> i32"),
         ("i16x8.extract_lane_u", 8, "v128 -> i32"), ("i16x8.replace_lane", 8, "v128 i32 -> v128"),
         ("i32x4.extract_lane", 4, "v128 -> i32"), ("i32x4.replace_lane", 4, "v128 i32 -> v128"),
         ("i64x2.extract_lane", 2, "v128 -> i64"), ("i64x2.replace_lane", 2, "v128 i64 -> v128"),
         ("f32x4.extract_lane", 4, "v128 -> f32"), ("f32x4.replace_lane", 4, "v128 f32 -> v128"),
         ("f64x2.extract_lane", 2, "v128 -> f64"), ("f64x2.replace_lane", 2, "v128 f64 -> v128")]
for i, (m, n, sig) in enumerate(lanes):
    simd(0x15 + i, m, f"lane:{n}", sig)
BIN = "v128 v128 -> v128"
UN = "v128 -> v128"
def simd_family(start, shape, names, sig):
    for i, n in enumerate(names):
        if n is not None:
            simd(start + i, f"{shape}.{n}", sig=sig)

simd_family(0x23, "i8x16", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u".split(), BIN)
simd_family(0x2D, "i16x8", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u".split(), BIN)
simd_family(0x37, "i32x4", "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u".split(), BIN)
simd_family(0x41, "f32x4", "eq ne lt gt le ge".split(), BIN)
simd_family(0x47, "f64x2", "eq ne lt gt le ge".split(), BIN)
simd(0x4D, "v128.not", sig=UN)
simd_family(0x4E, "v128", "and andnot or xor".split(), BIN)
simd(0x52, "v128.bitselect", sig="v128 v128 v128 -> v128")
simd(0x53, "v128.any_true", sig="v128 -> i32")
for i, (m, w) in enumerate([("v128.load8_lane", 1), ("v128.load16_lane", 2), ("v128.load32_lane", 4), ("v128.load64_lane", 8)]):
    simd(0x54 + i, m, f"memarg_lane:{w}", "i32 v128 -> v128")
for i, (m, w) in enumerate([("v128.store8_lane", 1), ("v128.store16_lane", 2), ("v128.store32_lane", 4), ("v128.store64_lane", 8)]):
    simd(0x58 + i, m, f"memarg_lane:{w}", "i32 v128 ->")
simd(0x5C, "v128.load32_zero", "memarg:4", "i32 -> v128")
simd(0x5D, "v128.load64_zero", "memarg:8", "i32 -> v128")
simd(0x5E, "f32x4.demote_f64x2_zero", sig=UN)
simd(0x5F, "f64x2.promote_low_f32x4", sig=UN)
simd(0x60, "i8x16.abs", sig=UN)
simd(0x61, "i8x16.neg", sig=UN)
simd(0x62, "i8x16.popcnt", sig=UN)
simd(0x63, "i8x16.all_true", sig="v128 -> i32")
simd(0x64, "i8x16.bitmask", sig="v128 -> i32")
simd(0x65, "i8x16.narrow_i16x8_s", sig=BIN)
simd(0x66, "i8x16.narrow_i16x8_u", sig=BIN)
simd_family(0x67, "f32x4", "ceil floor trunc nearest".split(), UN)
simd(0x6B, "i8x16.shl", sig="v128 i32 -> v128")
simd(0x6C, "i8x16.shr_s", sig="v128 i32 -> v128")
simd(0x6D, "i8x16.shr_u", sig="v128 i32 -> v128")
simd_family(0x6E, "i8x16", "add add_sat_s add_sat_u sub sub_sat_s sub_sat_u".split(), BIN)
simd_family(0x74, "f64x2", "ceil floor".split(), UN)
simd_family(0x76, "i8x16", "min_s min_u max_s max_u".split(), BIN)
simd(0x7A, "f64x2.trunc", sig=UN)
simd(0x7B, "i8x16.avgr_u", sig=BIN)
simd(0x7C, "i16x8.extadd_pairwise_i8x16_s", sig=UN)
simd(0x7D, "i16x8.extadd_pairwise_i8x16_u", sig=UN)
simd(0x7E, "i32x4.extadd_pairwise_i16x8_s", sig=UN)
simd(0x7F, "i32x4.extadd_pairwise_i16x8_u", sig=UN)
simd(0x80, "i16x8.abs", sig=UN)
simd(0x81, "i16x8.neg", sig=UN)
simd(0x82, "i16x8.q15mulr_sat_s", sig=BIN)
simd(0x83, "i16x8.all_true", sig="v128 -> i32")
simd(0x84, "i16x8.bitmask", sig="v128 -> i32")
simd(0x85, "i16x8.narrow_i32x4_s", sig=BIN)
simd(0x86, "i16x8.narrow_i32x4_u", sig=BIN)
simd_family(0x87, "i16x8", "extend_low_i8x16_s extend_high_i8x16_s extend_low_i8x16_u extend_high_i8x16_u".split(), UN)
simd(0x8B, "i16x8.shl", sig="v128 i32 -> v128")
simd(0x8C, "i16x8.shr_s", sig="v128 i32 -> v128")
simd(0x8D, "i16x8.shr_u", sig="v128 i32 -> v128")
simd_family(0x8E, "i16x8", "add add_sat_s add_sat_u sub sub_sat_s sub_sat_u".split(), BIN)
simd(0x94, "f64x2.nearest", sig=UN)
simd_family(0x95, "i16x8", "mul min_s min_u max_s max_u".split(), BIN)
simd(0x9B, "i16x8.avgr_u", sig=BIN)
simd_family(0x9C, "i16x8", "extmul_low_i8x16_s extmul_high_i8x16_s extmul_low_i8x16_u extmul_high_i8x16_u".split(), BIN)
simd(0xA0, "i32x4.abs", sig=UN)
simd(0xA1, "i32x4.neg", sig=UN)
simd(0xA3, "i32x4.all_true", sig="v128 -> i32")
simd(0xA4, "i32x4.bitmask", sig="v128 -> i32")
simd_family(0xA7, "i32x4", "extend_low_i16x8_s extend_high_i16x8_s extend_low_i16x8_u extend_high_i16x8_u".split(), UN)
simd(0xAB, "i32x4.shl", sig="v128 i32 -> v128")
simd(0xAC, "i32x4.shr_s", sig="v128 i32 -> v128")
simd(0xAD, "i32x4.shr_u", sig="v128 i32 -> v128")
simd(0xAE, "i32x4.add", sig=BIN)
simd(0xB1, "i32x4.sub", sig=BIN)
simd_family(0xB5, "i32x4", "mul min_s min_u max_s max_u".split(), BIN)
simd(0xBA, "i32x4.dot_i16x8_s", sig=BIN)
simd_family(0xBC, "i32x4", "extmul_low_i16x8_s extmul_high_i16x8_s extmul_low_i16x8_u extmul_high_i16x8_u".split(), BIN)
simd(0xC0, "i64x2.abs", sig=UN)
simd(0xC1, "i64x2.neg", sig=UN)
simd(0xC3, "i64x2.all_true", sig="v128 -> i32")
simd(0xC4, "i64x2.bitmask", sig="v128 -> i32")
simd_family(0xC7, "i64x2", "extend_low_i32x4_s extend_high_i32x4_s extend_low_i32x4_u extend_high_i32x4_u".split(), UN)
simd(0xCB, "i64x2.shl", sig="v128 i32 -> v128")
simd(0xCC, "i64x2.shr_s", sig="v128 i32 -> v128")
simd(0xCD, "i64x2.shr_u", sig="v128 i32 -> v128")
simd(0xCE, "i64x2.add", sig=BIN)
simd(0xD1, "i64x2.sub", sig=BIN)
simd(0xD5, "i64x2.mul", sig=BIN)
simd_family(0xD6, "i64x2", "eq ne lt_s gt_s le_s ge_s".split(), BIN)
simd_family(0xDC, "i64x2", "extmul_low_i32x4_s extmul_high_i32x4_s extmul_low_i32x4_u extmul_high_i32x4_u".split(), BIN)
simd(0xE0, "f32x4.abs", sig=UN)
simd(0xE1, "f32x4.neg", sig=UN)
simd(0xE3, "f32x4.sqrt", sig=UN)
simd_family(0xE4, "f32x4", "add sub mul div min max pmin pmax".split(), BIN)
simd(0xEC, "f64x2.abs", sig=UN)
simd(0xED, "f64x2.neg", sig=UN)
simd(0xEF, "f64x2.sqrt", sig=UN)
simd_family(0xF0, "f64x2", "add sub mul div min max pmin pmax".split(), BIN)
simd_family(0xF8, "i32x4", "trunc_sat_f32x4_s trunc_sat_f32x4_u".split(), UN)
simd_family(0xFA, "f32x4", "convert_i32x4_s convert_i32x4_u".split(), UN)
simd_family(0xFC, "i32x4", "trunc_sat_f64x2_s_zero trunc_sat_f64x2_u_zero".split(), UN)
simd_family(0xFE, "f64x2", "convert_low_i32x4_s convert_low_i32x4_u".split(), UN)

# Relaxed SIMD (3.0): one deterministic choice among the allowed results, the spec's deterministic profile.
TERN = "v128 v128 v128 -> v128"
for code, m, sig in [(0x100, "i8x16.relaxed_swizzle", BIN), (0x101, "i32x4.relaxed_trunc_f32x4_s", UN),
                     (0x102, "i32x4.relaxed_trunc_f32x4_u", UN), (0x103, "i32x4.relaxed_trunc_f64x2_s_zero", UN),
                     (0x104, "i32x4.relaxed_trunc_f64x2_u_zero", UN), (0x105, "f32x4.relaxed_madd", TERN),
                     (0x106, "f32x4.relaxed_nmadd", TERN), (0x107, "f64x2.relaxed_madd", TERN),
                     (0x108, "f64x2.relaxed_nmadd", TERN), (0x109, "i8x16.relaxed_laneselect", TERN),
                     (0x10A, "i16x8.relaxed_laneselect", TERN), (0x10B, "i32x4.relaxed_laneselect", TERN),
                     (0x10C, "i64x2.relaxed_laneselect", TERN), (0x10D, "f32x4.relaxed_min", BIN),
                     (0x10E, "f32x4.relaxed_max", BIN), (0x10F, "f64x2.relaxed_min", BIN), (0x110, "f64x2.relaxed_max", BIN),
                     (0x111, "i16x8.relaxed_q15mulr_s", BIN), (0x112, "i16x8.relaxed_dot_i8x16_i7x16_s", BIN),
                     (0x113, "i32x4.relaxed_dot_i8x16_i7x16_add_s", TERN)]:
    op(code, m, signature=sig, prefix=FD, feature="relaxedSIMD")

# ---------------------------------------------------------------------------------------------------
# The VM's internal instruction set (Sources/WasmVM/Translation/InternalOp.generated.swift).
# Every numeric Wasm instruction (fixed signature, no immediates, not SIMD) becomes an internal op of the
# same name in register form `op dst, lhs, rhs`. The ops below are the VM's own: control flow with
# resolved targets, fused compare-and-branch, memory access with the offset inline, calls, tables.
# Operand slots are 16-bit frame offsets in word 0; further immediates follow in extra 64-bit words.
VM_OPS = [
    "trap_unreachable", "copy", "select",
    "br", "br_if_nz", "br_if_z",
    "br_if_i32_eq", "br_if_i32_ne", "br_if_i32_lt_s", "br_if_i32_lt_u", "br_if_i32_gt_s", "br_if_i32_gt_u",
    "br_if_i32_le_s", "br_if_i32_le_u", "br_if_i32_ge_s", "br_if_i32_ge_u",
    "br_if_i64_eq", "br_if_i64_ne", "br_if_i64_lt_s", "br_if_i64_lt_u", "br_if_i64_gt_s", "br_if_i64_gt_u",
    "br_if_i64_le_s", "br_if_i64_le_u", "br_if_i64_ge_s", "br_if_i64_ge_u",
    "add_br_if_i32_eq", "add_br_if_i32_ne", "add_br_if_i32_lt_s", "add_br_if_i32_lt_u", "add_br_if_i32_gt_s",
    "add_br_if_i32_gt_u", "add_br_if_i32_le_s", "add_br_if_i32_le_u", "add_br_if_i32_ge_s", "add_br_if_i32_ge_u",
    "add_br_if_i64_eq", "add_br_if_i64_ne", "add_br_if_i64_lt_s", "add_br_if_i64_lt_u", "add_br_if_i64_gt_s",
    "add_br_if_i64_gt_u", "add_br_if_i64_le_s", "add_br_if_i64_le_u", "add_br_if_i64_ge_s", "add_br_if_i64_ge_u",
    "br_table", "call", "call_indirect", "return", "return_value",
    "global_get", "global_set",
    # Loads and stores of memory 0. A slot holds an i32 zero-extended, so the unsigned i64 loads are the i32
    # ones (i64.load8_u is load_i32_8u, i64.load32_u is load_i32) and i64.store32 is store_i32.
    "load_i32", "load_i64", "load_i32_8s", "load_i32_8u", "load_i32_16s", "load_i32_16u",
    "load_i64_8s", "load_i64_16s", "load_i64_32s",
    "store_i32", "store_i64", "store_8", "store_16",
    # The same on a 64-bit memory 0 (memory64): i64 addresses, offsets up to 2^64 - 1.
    "load64_i32", "load64_i64", "load64_i32_8s", "load64_i32_8u", "load64_i32_16s", "load64_i32_16u",
    "load64_i64_8s", "load64_i64_16s", "load64_i64_32s",
    "store64_i32", "store64_i64", "store64_8", "store64_16",
    # A load whose address is an `i32.add` just before it (`base + index`, the commonest address): one
    # dispatch for both, `d = load(u32(x + y) + offset)`, the offset in the next word.
    "load_add_i32", "load_add_i64", "load_add_i32_8s", "load_add_i32_8u", "load_add_i32_16s", "load_add_i32_16u",
    # The same for a store: `memory[u32(x + y) + offset] = d`, the offset in the next word (4- and 1-byte
    # stores: arrays of ints and of bytes).
    "store_add_i32", "store_add_8",
    # The eight saturating truncations (rare in hot code) share one op; which one sits in bits 8..<16 (its
    # offset from i32.trunc_sat_f32_s), so that fused float arithmetic has room:
    "trunc_sat",
    # `x * y + z` and `x * y - z` where the product is used only there (dot products, polynomials, the
    # mandelbrot and n-body steps): z's slot in the next word; rounded twice, as the two Wasm instructions are.
    "f32_mul_add", "f64_mul_add", "f32_mul_sub", "f64_mul_sub",
    # `s = x + y; br_if (s <cmp> z)` for floats: d = s, the mask as in br_if_f32/f64, z's slot in the target
    # word as in add_br_if_*.
    "add_br_if_f32", "add_br_if_f64",
    # Any memory instruction on a memory other than 0, and bulk/size/grow on a 64-bit memory 0: the Wasm
    # opcode and memory index in the next word (see MemoryInstructions.swift).
    "memory_other",
    "memory_size", "memory_grow", "memory_fill", "memory_copy", "memory_init", "data_drop",
    "table_get", "table_set", "table_size", "table_grow", "table_fill", "table_copy", "table_init", "elem_drop",
    "ref_func", "ref_is_null",
    # Typed function references and tail calls (the callee's reference or table index in x).
    "call_ref", "return_call", "return_call_indirect", "return_call_ref", "ref_as_non_null",
    "br_if_null", "br_if_non_null",
    # Exceptions: `throw` (tag index in the next word, payload at d), `throw_ref` (the exnref at x).
    "throw", "throw_ref",
    # Fused `rotl(x ^ y, k)` (hashes and ciphers mix with xor-rotate); k's slot in the next word.
    "i32_xor_rotl", "i64_xor_rotl",
    # SIMD: one op; the Wasm instruction (its offset from `v128.load` in `Opcode`) sits in bits 8..<16 of
    # the word (see SIMDExecution.swift). `global.get`/`global.set` of a v128 global: bit 8 says which.
    "v128", "v128_global",
    # Garbage collection: one op; the instruction's 0xFB code in bits 8..<16 (see GCExecution.swift).
    "gc",
    # Fused float compare-and-branch: the branch is taken when the comparison's outcome (less 0, equal 1,
    # greater 2, unordered 3) has its bit set in the mask in bits 8..<12, so one op per width covers every
    # comparison and its negation (NaN makes `not <` differ from `>=`).
    "br_if_f32", "br_if_f64",
]

# Ops past the first byte. The dispatch table is indexed by a word's low 16 bits: for the ops above, bits
# 8..<16 are their own sub-field (SIMD code, branch mask, table flags, ...) and every value of it reaches the
# op's handler; op byte 0xFF marks an extended op, whose number is in bits 8..<16 (so these have no sub-field).
EXTENDED_OP_BYTE = 0xFF

# Fused pairs `d = second(first(x, y), z)`: the first op's result is a temporary used only by the second, z
# (its other operand) in a slot named in the next word. Integer second ops commute, so one op serves z on
# either side; a float op keeps its operands' order (`z + t` and `t + z` differ in which NaN's payload a NaN
# result carries), so `rN` is the form with the first result on the right, `second(z, first(x, y))`. Chosen
# from the hot loops of hashes, checksums and ciphers (sha256's rotate-xor sums, crc32's shift-xor table
# step) and float recurrences (mandelbrot's `c + (a - b)`); `z / (x * y)` and `(x * y) / z` from n-body's
# `dt / (d2 * sqrt(d2))` (a quotient of a product: normalizing, physics steps).
PAIR_INTEGER_FIRST = ["add", "sub", "mul", "xor", "and", "or", "shl", "shr_s", "shr_u", "rotl", "rotr"]
PAIR_INTEGER_SECOND = ["add", "xor", "and", "or"]
PAIR_FLOAT = [("add", "add"), ("sub", "add"), ("mul", "mul"), ("add", "mul"), ("sub", "mul"), ("mul", "div")]
# (type, first, second, first result on the left of second: True, on the right: False, either: None)
# An i32 comparison whose 0 or 1 is added, and-ed or or-ed right away (counting matches: `n += c == '\\n'`).
PAIR_COMPARISON_FIRST = ["eq", "ne", "lt_s", "lt_u"]
PAIR_COMPARISON_SECOND = ["add", "and", "or"]
PAIRS = ([(t, a, b, None) for t in ("i32", "i64") for a in PAIR_INTEGER_FIRST for b in PAIR_INTEGER_SECOND]
         + [(t, a, b, left) for t in ("f32", "f64") for a, b in PAIR_FLOAT for left in (True, False)]
         + [("i32", a, b, None) for a in PAIR_COMPARISON_FIRST for b in PAIR_COMPARISON_SECOND])

def pair_name(t, a, b, left):
    return f"{t}_{a}_{b}" if left is not False else f"{t}_{a}_r{b}"

# A load from memory 0 (32-bit, offset below 0xFFFF) whose value only feeds the next instruction, an
# arithmetic op with another operand z: `d = op(memory[x + offset], z)` (the load's word, z's slot in the next
# word). `op_load` has the loaded value on the right (`z - memory`), `load_op` on the left; integer ops that
# commute have one form for both. From nbody's and matmul's loops (`a * b[j]`, `c[j] + t`, `p - q[i]`); the
# loaded width is the op's (i32 and f32 from 4 bytes, i64 and f64 from 8).
LOAD_INTEGER = [("add", None), ("sub", False), ("sub", True), ("mul", None), ("xor", None), ("and", None), ("or", None)]
LOAD_FLOAT = [(o, first) for o in ("add", "sub", "mul") for first in (False, True)]
# (type, op, loaded value on the left: True, on the right: False, either: None)
LOAD_PAIRS = [(t, o, first) for t in ("i32", "i64") for o, first in LOAD_INTEGER] \
    + [(t, o, first) for t in ("f32", "f64") for o, first in LOAD_FLOAT]

def load_pair_name(t, o, first):
    return f"{t}_load_{o}" if first else f"{t}_{o}_load"

# An arithmetic op whose result only feeds the store after it, of the op's width to a 32-bit memory 0:
# `memory[d + offset] = op(x, y)`, the offset in the next word (`a[i] = b - c`). Ops that cannot trap only.
STORE_OPERATIONS = {"i32": ["add", "sub", "mul", "xor", "and", "or", "shl", "shr_s", "shr_u", "rotl"],
                    "i64": ["add", "sub", "mul", "xor", "and", "or", "shl", "shr_s", "shr_u", "rotl"],
                    "f32": ["add", "sub", "mul", "div"], "f64": ["add", "sub", "mul", "div"]}
STORE_PAIRS = [(t, o) for t, operations in STORE_OPERATIONS.items() for o in operations]

def store_pair_name(t, o):
    return f"{t}_{o}_store"

# A load fused with its op (above) whose result only feeds a store back to the same address (the same local
# or constant, the same offset, the same width): `memory[x + offset] = op(memory[x + offset], z)`, the update
# `a[i] += z` in one dispatch.
def update_name(t, o, first):
    return load_pair_name(t, o, first) + "_store"

# A load (4 bytes, or 1 byte zero-extended; offset below 0xFFFF) whose value a compare-and-branch tests right
# after it: `d = memory[x + offset]; if d <cmp> y goto target`, the offset in bits 32..<48 of the target word (as
# add_br_if's operand), the loaded value still written (it is often a local used after the loop). Scans:
# quicksort's partition loops, a tokenizer looking for a byte.
LOAD_BRANCH_LOADS = ["i32", "i32_8u"]
LOAD_BRANCH_CONDITIONS = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
LOAD_BRANCHES = [(l, c) for l in LOAD_BRANCH_LOADS for c in LOAD_BRANCH_CONDITIONS]

def load_branch_name(load, condition):
    return f"load_{load}_br_if_{condition}"

# A select whose condition is an i32 comparison computed just before it: `d = (a <cmp> b) ? x : y`, a and b in
# the next word (slots at bits 0 and 16). Branch-free minimum, maximum and clamping; toupper.
SELECT_CONDITIONS = LOAD_BRANCH_CONDITIONS

def select_name(condition):
    return f"select_i32_{condition}"

# `br_if (x & y) != 0` and `br_if (x & y) == 0` on i32 (an `i32.and` whose result only feeds the branch, with
# or without an `i32.eqz`): flag tests, `if (flags & BIT)`, which C library code (printf's format parsing,
# ctype tables) is full of. x and y as in the compare-and-branch ops, the target in the next word.
BRANCH_ON_AND = ["br_if_and_nz", "br_if_and_z"]

# The VM's own extended ops, which `Store.run` executes (their handler hands them to it):
# `enter_untranslated` is the code of a function not yet translated (the defined function's index in bits
# 32..<64, its module's `TranslatedFunctions` in the next word; see TranslatedFunctions.swift).
EXTENDED_VM_OPS = ["enter_untranslated"]

EXTENDED_OPS = ([pair_name(*p) for p in PAIRS] + [load_pair_name(*p) for p in LOAD_PAIRS]
                + [store_pair_name(*p) for p in STORE_PAIRS] + [update_name(*p) for p in LOAD_PAIRS]
                + [load_branch_name(*b) for b in LOAD_BRANCHES] + [select_name(c) for c in SELECT_CONDITIONS]
                + BRANCH_ON_AND + EXTENDED_VM_OPS)

def register_form_rows():
    """The Wasm instructions that translate 1:1 into a register-form internal op (the saturating truncations,
    prefix 0xFC, share `trunc_sat`)."""
    return [r for r in ROWS if r[4] is not None and r[3] == "none" and r[0] not in (0xFD, 0xFC) and r[2] != "nop" and r[6] is None]
