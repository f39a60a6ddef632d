"""Chapter 20, fast forms of the recurrences: the derivation of the chunked forms, the DSF instances, timings, claims.

The operators themselves are :mod:`attnmath.kernels` (reference, chunked PyTorch and Triton forms);
this chapter package holds what the book says about them:

- :mod:`~attnmath.fastforms.derivation`: sympy, both sides of each chunked identity;
- :mod:`~attnmath.fastforms.instances`: S6, Mamba-2/SSD, RetNet and GLA mapped onto the diagonal scan,
  and each model's own recurrence written literally;
- :mod:`~attnmath.fastforms.timing`: CPU timing of the forms (the chapter's scaling figure, ``make bench``);
- :mod:`attnmath.fastforms.claims`: the ``kernels.*`` claims.

Notebook: ``notebooks/20_kernels``.
"""
