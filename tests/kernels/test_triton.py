"""Lazy Triton (``kernels/_triton.py``) and the device helpers (``kernels/_tiles.py``).

Importing the kernels never imports triton; forcing Triton on a CPU machine switches the interpreter on;
triton imported before that switch is a clear error; kernels build the lazy helpers they call; and every
kernel compiles for a GPU target on a machine without one (the interpreter does not check what only the
compiler checks: types of device-function calls, constexpr-ness, globals).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from attnmath.kernels import _tiles, _triton
from attnmath.kernels.linear_attention import triton_chunk as la_triton


def _run(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    clean.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=120)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_import_is_safe_without_cuda_or_the_interpreter_and_forcing_triton_works():
    code = (
        "import sys, torch\nimport attnmath.kernels as kernels\n"
        "from attnmath import claims\n"
        "claims.load_all()\n"
        "assert 'triton' not in sys.modules, 'importing kernels imported triton'\n"
        "print(kernels.backend())\n"
        "q = torch.randn(1, 20, 1, 16)\n"
        "o, S = kernels.dispatch.linear_attention(q, q, q, backend='triton')\n"
        "r, _ = kernels.dispatch.linear_attention(q, q, q, backend='torch')\n"
        "assert (o - r).abs().max() < 1e-4, (o - r).abs().max()\n"
        "print(kernels.backend())\n"
    )
    res = _run(code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["torch", "torch"]  # forcing Triton does not change the default


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_triton_imported_before_the_interpreter_switch_is_a_clear_error():
    code = (
        "import triton, torch\nimport attnmath.kernels as kernels\n"
        "q = torch.randn(1, 20, 1, 16)\n"
        "kernels.dispatch.linear_attention(q, q, q, backend='triton')\n"
    )
    res = _run(code)
    assert res.returncode != 0 and "set TRITON_INTERPRET=1 before the first" in res.stderr


def test_a_helper_is_device_code_not_a_python_function():
    with pytest.raises(TypeError, match="load_tile is Triton device code"):
        _tiles.load_tile(None, None, None, None)


def test_building_a_kernel_builds_the_lazy_helpers_it_calls():
    """After a launch the kernel module's globals hold jitted helpers (Triton accepts no other globals);
    the helper module keeps a lazy helper for every name no built kernel has asked for."""
    q = torch.randn(1, 20, 1, 16)
    la_triton.triton_chunk_linear_attention(q, q, q, chunk_size=16)
    built = la_triton.__dict__["load_tile"]
    assert not isinstance(built, _triton.LazyKernel) and callable(built)
    assert built is _tiles.load_tile.kernel  # one jitted helper, shared by every kernel that calls it
    assert la_triton.tl is not _triton.tl  # the real triton.language replaced the placeholder


def test_chunk_blocks_validate_the_chunk_and_the_key_width():
    assert _triton.chunk_blocks(16, 8, 32)[:2] == (32, 16)
    with pytest.raises(ValueError, match="chunk_size must be a power of two"):
        _triton.chunk_blocks(16, 8, 48)
    with pytest.raises(ValueError, match="chunk_size must be >= 16"):
        _triton.chunk_blocks(16, 8, 8)
    with pytest.raises(ValueError, match="K must be <= 256"):
        _triton.chunk_blocks(300, 8, 64)


COMPILE_FOR_A_GPU = textwrap.dedent(
    """
    import triton, triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from attnmath.kernels import _triton
    from attnmath.kernels.diag_scan import triton_chunk as ds
    from attnmath.kernels.linear_attention import triton_chunk as la
    from attnmath.kernels.softmax_attention import triton_flash as fl

    _triton.load = lambda: (triton, tl)  # no GPU and no interpreter: build the kernels for a target only
    P32, P16, I, F = "*fp32", "*fp16", "i32", "fp32"
    cases = [
        (la._la_fwd_kernel, [P16] * 4 + [P32] * 2 + [I] * 4 + [F], dict(BT=64, BK=64, BV=64, USE_H0=True, PREC="tf32")),
        (la._la_bwd_kernel, [P16] * 4 + [P32] * 4 + [P16, P32] + [I] * 4 + [F],
         dict(BT=64, BK=64, BV=64, USE_H0=True, USE_DHT=True, PREC="tf32")),
        (fl._flash_fwd_kernel, [P32] * 5 + [I] * 4 + [F], dict(BM=64, BN=64, BK=64, BV=64, CAUSAL=True, PREC="ieee")),
    ]
    for scalar, BT in ((True, 64), (False, 16)):
        cases += [
            (ds._ds_fwd_kernel, [P16] * 5 + [P32] * 2 + [I] * 4 + [F],
             dict(BT=BT, BK=64, BV=64, SCALAR_G=scalar, USE_H0=True, PREC="tf32")),
            (ds._ds_bwd_kernel, [P16] * 5 + [P32] * 4 + [P16, P32] + [I] * 4 + [F],
             dict(BT=BT, BK=64, BV=64, SCALAR_G=scalar, USE_H0=True, USE_DHT=True, PREC="tf32")),
        ]
    for lazy, types, constexprs in cases:
        fn = lazy.kernel
        runtime = [a for a in fn.arg_names if a not in constexprs]
        signature = dict(zip(runtime, types)) | {name: "constexpr" for name in constexprs}
        compiled = triton.compile(ASTSource(fn, signature, constexprs=constexprs), target=GPUTarget("cuda", 90, 32))
        assert "ptx" in compiled.asm, lazy.__name__
        print("compiled", lazy.__name__)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU every kernel test compiles the kernels")
def test_every_kernel_compiles_for_a_gpu_target_without_a_gpu():
    """The interpreter runs device functions as Python: only the compiler checks them as Triton (sm_90, PTX)."""
    res = _run(COMPILE_FOR_A_GPU)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("compiled") == 7
