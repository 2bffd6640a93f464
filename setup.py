"""Builds the one extension, pydtrain._C, from csrc/.

Every target file (csrc/targets/<isa>.c) is a unity build of all kernels for
one SIMD level; only those files get ISA flags, added per file by the compile
hook below. OpenMP is used when the compiler accepts -fopenmp. PYDTRAIN_SANITIZE=1 builds it under
AddressSanitizer and UBSan for .ci/sanitize (GCC/Clang; never for installation).
"""
import os
import platform
import sys
import tempfile
from glob import glob

import numpy as np
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ARCH = platform.machine().lower()
X86 = ARCH in ("x86_64", "amd64")
ARM64 = ARCH in ("aarch64", "arm64")

# Per-target flags (GCC/Clang); files not listed build for the baseline.
TARGET_FLAGS = {}
if X86:
    TARGET_FLAGS = {"avx2.c": ["-mavx2", "-mfma"], "avx512.c": ["-mavx512f", "-mavx2", "-mfma"]}
TARGETS = ["scalar.c"] + list(TARGET_FLAGS) + (["neon.c"] if ARM64 else [])

SOURCES = (
    ["csrc/dispatch.c", "csrc/rng.c", "csrc/scratch.c", "csrc/threads.c"]
    + [f"csrc/targets/{t}" for t in TARGETS]
    + sorted(glob("csrc/py/*.c"))
)
SANITIZE = os.environ.get("PYDTRAIN_SANITIZE") == "1"
SANITIZE_FLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
DEPENDS = glob("csrc/**/*.h", recursive=True) + glob("csrc/kernels/*") + glob("csrc/targets/*.inc") + ["csrc/kernels.def"]


def compiler_accepts(compiler, flag):
    """Whether the compiler builds and links a small OpenMP program with `flag`."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=[flag])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    """Adds ISA flags to the target files only, and OpenMP where it works.

    A build for installation (``pip install .``) also leaves a copy of the extension in the
    source tree's package, so that ``python -m pydtrain ...`` run from the repository root,
    which imports ./pydtrain before the installed copy, finds its compiled core.
    """

    def run(self):
        super().run()
        if not self.inplace and not SANITIZE:  # a sanitized core must never land in the source tree
            try:
                self.copy_extensions_to_source()
            except OSError as err:  # a read-only checkout: the installed package still works elsewhere
                print(f"pydtrain: could not copy the built core into the source tree ({err})", file=sys.stderr)

    def build_extensions(self):
        cc = self.compiler
        if cc.compiler_type != "msvc":
            openmp = compiler_accepts(cc, "-fopenmp")
            if not openmp:
                print("pydtrain: the compiler has no OpenMP; building single-threaded", file=sys.stderr)
            for ext in self.extensions:
                if openmp:
                    ext.extra_compile_args.append("-fopenmp")
                    ext.extra_link_args.append("-fopenmp")
                if SANITIZE:  # after -O3: the last -O wins
                    ext.extra_compile_args.extend(SANITIZE_FLAGS)
                    ext.extra_link_args.extend(SANITIZE_FLAGS)
            original = cc._compile

            def compile_one(obj, src, ext, cc_args, extra_postargs, pp_opts):
                extra = TARGET_FLAGS.get(os.path.basename(src), []) if "targets" in src else []
                original(obj, src, ext, cc_args, list(extra_postargs) + extra, pp_opts)

            cc._compile = compile_one
        super().build_extensions()


ext = Extension(
    "pydtrain._C",
    sources=SOURCES,
    depends=DEPENDS,
    include_dirs=[np.get_include(), "csrc"],
    extra_compile_args=["-std=c11", "-O3", "-fno-math-errno", "-Wall", "-Wno-unknown-pragmas"],
)

setup(ext_modules=[ext], cmdclass={"build_ext": BuildExt})
