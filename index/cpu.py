"""What this CPU can do, read from the kernel (never assumed): model, vector extensions, threads.

The embedding back-ends and the benchmarks key their caches and their reports on these
facts: an AVX-512/bf16 Xeon and an AVX2-only EPYC get different exports, verdicts and choices.
"""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The flags that change which kernels the back-ends run (Linux /proc/cpuinfo names).
FEATURES = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
)


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as the back-ends see it."""

    model: str
    flags: frozenset[str]
    threads: int  # CPUs this process may run on
    limited_to: str = ""  # "avx2" when the run is forced to the ordinary path on a bigger CPU

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def bf16(self) -> bool:
        """Native bfloat16 arithmetic (AVX512-BF16 or AMX)."""
        return bool({"avx512_bf16", "amx_bf16"} & self.flags)

    @property
    def amx(self) -> bool:
        return bool({"amx_bf16", "amx_int8", "amx_tile"} & self.flags)

    @property
    def vnni(self) -> bool:
        """Integer dot products in hardware (what makes int8 inference fast)."""
        return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & self.flags)

    @property
    def key(self) -> str:
        """A short name of the CPU class: the same for two machines whose back-ends behave alike."""
        present = [f for f in FEATURES if f in self.flags]
        label = "avx512" if self.avx512 else "avx2" if self.avx2 else "baseline"
        digest = hashlib.sha256(f"{platform.machine()}|{','.join(present)}|{self.threads}".encode()).hexdigest()[:8]
        return f"{platform.machine()}-{label}-{self.threads}t-{digest}"

    def limited(self, max_isa: str) -> CpuInfo:
        """The same CPU as the back-ends see it when limited to AVX2 ("avx2"), or as it is ("native")."""
        if max_isa != "avx2":
            return self
        kept = frozenset(f for f in self.flags if not f.startswith(("avx512", "amx")) and f != "avx_vnni")
        return CpuInfo(self.model, kept, self.threads, limited_to="avx2")

    def describe(self) -> dict[str, object]:
        """The facts every benchmark prints and records."""
        return {
            "cpu_model": self.model,
            "threads": self.threads,
            "avx2": self.avx2,
            "avx512": self.avx512,
            "avx512_vnni": "avx512_vnni" in self.flags,
            "avx_vnni": "avx_vnni" in self.flags,
            "bf16": self.bf16,
            "amx": self.amx,
            "cpu_key": self.key,
            "limited_to": self.limited_to or "native",
        }


def parse_cpuinfo(text: str, threads: int) -> CpuInfo:
    """Read the model name and the flags of the first processor in a /proc/cpuinfo text."""
    model, flags = platform.processor() or platform.machine(), frozenset[str]()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        name = name.strip()
        if name == "model name" and model in ("", platform.processor() or platform.machine()):
            model = value.strip()
        elif name in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
    return CpuInfo(model, flags, threads)


@lru_cache(maxsize=1)
def detect_cpu() -> CpuInfo:
    """Return this machine's CPU, read once per process."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return parse_cpuinfo(text, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


# Documented switches of the libraries underneath: oneDNN (torch, OpenVINO's CPU plugin) and
# torch's own kernels stop at AVX2; bf16 is never picked implicitly.
AVX2_ENVIRONMENT = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # torch's float32 matrix products on x86 go through MKL
}


def limit_isa(max_isa: str) -> None:
    """Limit the vector instructions of the libraries loaded after this call ("avx2"), or do nothing ("native").

    Set before torch, ONNX Runtime or OpenVINO are imported to be sure it holds (the
    benchmark does so first thing). ONNX Runtime has no such switch: its kernels are
    chosen at run time from the CPU, so its figures on a bigger CPU stay that CPU's.
    """
    if max_isa == "avx2":
        for name, value in AVX2_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
