#!/usr/bin/env python3
"""Checks in the machine code that the fast CPU path's blocked loops are vectorised.

    cargo build --release && python3 benches/check_vectorised.py [target/release/klgrid]

For every instance of `sum_block_avx512` / `sum_block_avx2` in the binary (one per family
kernel, monomorphised), it finds the family from the inlined source lines (objdump --inlines),
counts packed single-precision instructions on zmm/ymm registers, scalar single-precision
arithmetic (…ss), and lists the functions called. It fails (exit 1) when an instance calls anything but
memset/memcpy and the bounds-check panics — a libm function (logf, log1pf, expf, fmaf, …), named
or through a register — or has no packed arithmetic: the symptom of a
transcendental call that stopped the vectorisation. Needs GNU binutils (objdump, nm).
"""

import re
import subprocess
import sys
from collections import Counter

LIBM = re.compile(r"\b(logf|log1pf|expf|powf|fmaf|log|log1p|exp|pow|fma|expm1f?)(@|\b)")
PACKED = re.compile(r"\bv(fn?m(add|sub)[0-9]*ps|addps|subps|mulps|divps|maxps|minps|cmp\w*ps|blendvps|cvtdq2ps|cvtps2dq|pand|pandd|por|pord|pslld|psrld|psrad|paddd|psubd)\b")
ALLOWED = re.compile(r"^(memset|memcpy|memmove)@|panic|index_fail|index_order_fail|len_mismatch")
SCALAR = re.compile(r"\bv(fn?m(add|sub)[0-9]*ss|addss|subss|mulss|divss)\b")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/klgrid"
    syms = []
    for line in run("nm", "--defined-only", "-n", binary).splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms.append((int(parts[0], 16), parts[2]))
    # GOT slots of dynamic symbols (calls through *slot(%rip)).
    got = {}
    for line in run("objdump", "-R", binary).splitlines():
        m = re.match(r"([0-9a-f]+)\s+R_X86_64_(GLOB_DAT|JUMP_SLOT)\s+(\S+)", line)
        if m:
            got[int(m.group(1), 16)] = m.group(3)
        m = re.match(r"([0-9a-f]+)\s+R_X86_64_RELATIVE\s+\*ABS\*\+0x([0-9a-f]+)", line)
        if m:
            got[int(m.group(1), 16)] = int(m.group(2), 16)
    names = {a: n for a, n in syms}
    rows, bad = [], []
    for i, (addr, name) in enumerate(syms):
        isa = "avx512" if "sum_block_avx512" in name else "avx2" if "sum_block_avx2" in name else None
        if not isa:
            continue
        end = next((a for a, _ in syms[i + 1 :] if a > addr), addr + 1)
        dis = run("objdump", "-d", "-l", "--inlines", "--no-show-raw-insn",
                  f"--start-address={addr:#x}", f"--stop-address={end:#x}", binary)
        fams = sorted(set(re.findall(r"src/model/families/([a-z_]+)\.rs", dis)) - {"kernel", "mod"})
        family = ",".join(fams) or "(no family file inlined: ScaledKernel or ExponentialKernel)"
        insns = [l.split("\t", 1)[1] for l in dis.splitlines() if re.match(r"\s+[0-9a-f]+:\t", l)]
        packed = sum(1 for x in insns if PACKED.search(x) and re.search(r"%[yz]mm", x))
        scalar = sum(1 for x in insns if SCALAR.search(x))
        calls = Counter()
        for x in (x for x in insns if x.startswith("call")):
            m = re.search(r"#\s*([0-9a-f]+)", x) or re.search(r"call\s+([0-9a-f]+)", x)
            target = int(m.group(1), 16) if m else None
            sym = got.get(target, target) if target is not None else x
            sym = names.get(sym, sym) if isinstance(sym, int) else sym
            sym = f"<{sym:#x}>" if isinstance(sym, int) else sym
            demangled = run("c++filt", sym).strip() if sym.startswith("_ZN") else sym
            if demangled.startswith("_R"):  # Rust v0 mangling: keep the last path segment
                demangled = next((demangled[-k:] for k in range(1, len(demangled))
                                  if demangled[:-k].endswith(str(k))), demangled)
            calls[re.sub(r"::h[0-9a-f]{16}$", "", demangled)] += 1
        # Calls other than memset/memcpy and the bounds-check panics: libm, named or through a
        # register holding its address (hoisted out of the loop).
        libm = [c for c in calls if LIBM.search(c) or not ALLOWED.search(c)]
        ok = packed > 0 and not libm
        if not ok:
            bad.append(f"{isa} {family}")
        rows.append((family, isa, packed, scalar, ", ".join(f"{c}×{k}" for c, k in calls.items()) or "none", "ok" if ok else "NOT VECTORISED"))
    if not rows:
        print("no sum_block_avx2 / sum_block_avx512 instances found (not an x86-64 build?)")
        return 1
    print(f"{'kernel (family files inlined)':58} {'isa':7} {'packed':>6} {'scalar':>6}  calls; verdict")
    for r in sorted(rows):
        print(f"{r[0]:58} {r[1]:7} {r[2]:6} {r[3]:6}  {r[4]}; {r[5]}")
    if bad:
        print("not vectorised: " + "; ".join(bad))
        return 1
    print(f"all {len(rows)} blocked loops vectorised, no libm calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
