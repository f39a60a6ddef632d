"""The base layer: what every chapter, the ledger and the kernels may import (and nothing above it).

- :mod:`~attnmath.base.validation`  input checks that name the argument, the expectation and what was given
- :mod:`~attnmath.base.errors`      :class:`~attnmath.base.errors.MissingDependency`
- :mod:`~attnmath.base.numerics`    unit roundoff per dtype, seeded generators, :func:`~attnmath.base.numerics.phi1`
- :mod:`~attnmath.base.tolerances`  the one table of kernel tolerances per dtype (tests and claims)
- :mod:`~attnmath.base.tiers`       run tiers (``ci``/``paper``) and the chapters' size tables
- :mod:`~attnmath.base.chunks`      the chunk length of every chunked form: one name, one default
- :mod:`~attnmath.base.runtime`     the single-thread runtime of the training loops
- :mod:`~attnmath.base.memory`      memory estimates that let the quadratic forms refuse clearly
- :mod:`~attnmath.base.report`      printing numbers at the precision that carries their meaning
"""
