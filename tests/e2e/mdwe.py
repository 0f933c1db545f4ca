"""MemoryDenyWriteExecute=yes as systemd 252 enforces it, for a process and what it execs.

systemd installs a seccomp filter that refuses (EPERM) `mmap` asking for memory both writable
and executable, `mprotect`/`pkey_mprotect` adding execute permission, and `shmat` with
SHM_EXEC. `install()` puts the same filter on this process (it needs no_new_privs, or
CAP_SYS_ADMIN); filters survive fork and execve. x86-64 only.

    python tests/e2e/mdwe.py PROGRAM ARGS...   # runs PROGRAM under the filter
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
NR_MMAP, NR_MPROTECT, NR_SHMAT, NR_PKEY_MPROTECT = 9, 10, 30, 329
PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
NR, ARCH = 0, 4
# classic BPF opcodes
LD_W_ABS, JEQ_K, AND_K, RET_K = 0x20, 0x15, 0x54, 0x06


def _arg_low(n: int) -> int:
    return 16 + 8 * n  # the low 32 bits of args[n] (little-endian)


def filter_instructions() -> list[tuple[int, int, int, int]]:
    """The filter's instructions (code, jt, jf, k), jumps resolved from the labels."""
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    allow = SECCOMP_RET_ALLOW
    labels: dict[str, int] = {}
    code: list[tuple] = []

    def at(name: str) -> None:
        labels[name] = len(code)

    # A system call of another ABI (i386 from an x86-64 process) is refused outright.
    code += [(LD_W_ABS, None, None, ARCH), (JEQ_K, "syscall", "deny", AUDIT_ARCH_X86_64)]
    at("syscall")
    code += [(LD_W_ABS, None, None, NR),
             (JEQ_K, "mmap", None, NR_MMAP),
             (JEQ_K, "mprotect", None, NR_MPROTECT),
             (JEQ_K, "mprotect", None, NR_PKEY_MPROTECT),
             (JEQ_K, "shmat", None, NR_SHMAT),
             (RET_K, None, None, allow)]
    at("mmap")
    code += [(LD_W_ABS, None, None, _arg_low(2)), (AND_K, None, None, PROT_WRITE | PROT_EXEC),
             (JEQ_K, "deny", None, PROT_WRITE | PROT_EXEC), (RET_K, None, None, allow)]
    at("mprotect")
    code += [(LD_W_ABS, None, None, _arg_low(2)), (AND_K, None, None, PROT_EXEC),
             (JEQ_K, "deny", None, PROT_EXEC), (RET_K, None, None, allow)]
    at("shmat")
    code += [(LD_W_ABS, None, None, _arg_low(2)), (AND_K, None, None, SHM_EXEC),
             (JEQ_K, "deny", None, SHM_EXEC), (RET_K, None, None, allow)]
    at("deny")
    code += [(RET_K, None, None, deny)]

    out = []
    for i, (op, jt, jf, k) in enumerate(code):
        def rel(target, i=i):
            return 0 if target is None else labels[target] - (i + 1)
        out.append((op, rel(jt), rel(jf), k))
    return out


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def install() -> None:
    """Put the filter on this process (and everything it starts)."""
    if platform.machine() != "x86_64":
        raise OSError("the MemoryDenyWriteExecute emulation is written for x86-64")
    instructions = filter_instructions()
    array = (_SockFilter * len(instructions))(*[_SockFilter(*i) for i in instructions])
    prog = _SockFprog(len(instructions), array)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp filter refused: {os.strerror(err)}")


if __name__ == "__main__":
    install()
    os.execv(sys.argv[1], sys.argv[1:])
