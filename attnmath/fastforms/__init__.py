"""Chapter 20, fast forms of the recurrences: the derivation of the chunked forms and their claims.

The operators themselves are :mod:`attnmath.kernels` (reference, chunked PyTorch and Triton forms);
this chapter package holds what the book says about them: :mod:`~attnmath.fastforms.derivation`
(sympy, both sides of each chunked identity) and the claims in :mod:`attnmath.fastforms.claims`.
Notebook: ``notebooks/20_kernels``.
"""
