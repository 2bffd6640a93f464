"""Configuration: the SIMD level chosen at import, its PYDTRAIN_SIMD cap, threads, show_config."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pydtrain
from pydtrain import _C

ROOT = Path(pydtrain.__file__).resolve().parents[1]


def level_with(env_value):
    env = dict(os.environ, PYDTRAIN_SIMD=env_value)
    out = subprocess.run([sys.executable, "-W", "always", "-c", "import pydtrain; print(pydtrain._C.simd_level())"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip(), out.stderr


def test_default_is_the_best_supported_level():
    assert _C.simd_best() == _C.simd_supported()[-1]
    assert set(_C.simd_supported()) <= set(_C.simd_compiled())


@pytest.mark.parametrize("cap", _C.simd_supported())
def test_pydtrain_simd_caps_the_level(cap):
    assert level_with(cap)[0] == cap


def test_a_cap_above_the_cpu_gives_the_best_level():
    if "avx512" not in _C.simd_compiled():
        pytest.skip("x86-64 only")
    assert level_with("avx512")[0] == _C.simd_best()


def test_an_unknown_cap_warns_and_is_ignored():
    level, err = level_with("sse9")
    assert level == _C.simd_best()
    assert "PYDTRAIN_SIMD='sse9' is not one of" in err


def test_threads_and_show_config(capsys):
    before = pydtrain.get_num_threads()
    pydtrain.set_num_threads(1)
    info = pydtrain.show_config()
    assert info["threads"] == 1 and info["simd"] == _C.simd_level() and info["version"] == pydtrain.__version__
    assert "SIMD level in use" in capsys.readouterr().out
    pydtrain.set_num_threads(before)
    with pytest.raises(TypeError, match="n must be an int"):
        pydtrain.set_num_threads(1.5)
    with pytest.raises(ValueError, match="between 1 and"):
        pydtrain.set_num_threads(0)


def test_kernels_use_openmp_only_through_pdt_omp_for():
    # threads.c runs each parallel loop's static blocks on its own pool, which is exact only
    # for plain static loops: no omp_* calls or other OpenMP constructs in the kernels
    csrc = Path(__file__).resolve().parents[1] / "csrc"
    offenders = [f"{path.relative_to(csrc)}:{number}"
                 for path in sorted(csrc.rglob("*.[ch]")) if path.name not in ("threads.h", "threads.c")
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if "omp_" in line or "pragma omp" in line or "Pragma(\"omp" in line]
    assert offenders == []
