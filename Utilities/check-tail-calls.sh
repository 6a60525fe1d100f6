#!/usr/bin/env bash
# Checks that every threaded handler of the interpreter (Sources/WasmVM/Execution/Handlers.swift) passes
# control to the next one with a tail call (`jmp *`), never a call (`call *`) that would keep its frame:
# release builds rely on it to run guest code in constant host stack (debug builds cut chains instead;
# see Threaded.swift). Swift does not promise tail calls, so a new toolchain could silently drop one.
#   Utilities/check-tail-calls.sh [BINARY]     # default: the release wasmrun (built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-}
if [ -z "$binary" ]; then
  swift build -c release --omit-frame-pointers --product wasmrun >/dev/null
  binary="$(swift build -c release --show-bin-path)/wasmrun"
fi
command -v objdump >/dev/null || { echo "check-tail-calls: objdump (binutils) is needed" >&2; exit 2; }
objdump -d --no-show-raw-insn "$binary" | awk '
  # The dispatch loads the next handler from the table, indexed by op: `(%table,%op,8)`. A call through such
  # an operand, or through a register loaded from one, is a dispatch that keeps its frame. (Merged handlers,
  # symbol suffix _Tm, also call their variant through an argument register: that is not a dispatch.)
  /^[0-9a-f]+ <.*>:$/ {
    name = $2
    handler = (name ~ /install[A-Za-z]*Handlers/ && name ~ /fU[0-9]*_/)
    if (handler) handlers++
    delete loaded
    next
  }
  !handler { next }
  /mov +[-0-9a-fx]*\(%[a-z0-9]+,%[a-z0-9]+,8\),%r[a-z0-9]+$/ { n = split($NF, parts, ","); loaded[parts[n]] = 1 }
  /call +\*[-0-9a-fx]*\(%[a-z0-9]+,%[a-z0-9]+,8\)/ { bad[name] = 1 }
  /call +\*%r[a-z0-9]+$/ { if (substr($NF, 2) in loaded) bad[name] = 1 }
  /jmp +\*/ { jumps[name] = 1 }
  END {
    for (n in bad) { print "check-tail-calls: handler " n " calls the next handler instead of jumping" > "/dev/stderr"; failed = 1 }
    for (n in jumps) dispatching++
    if (handlers < 200) { print "check-tail-calls: found only " handlers " handlers (symbols renamed?)" > "/dev/stderr"; failed = 1 }
    if (failed) exit 1
    print "check-tail-calls: " handlers " handler functions, " dispatching " of them end in an indirect jump, none calls"
  }'
