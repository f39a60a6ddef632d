"""Claims of the fast-forms chapter (``kernels.*`` ids): chunked forms, log space and the normaliser
(:mod:`~attnmath.fastforms.claims.forms`); the gate gradient, the online softmax and the DSF instances
(:mod:`~attnmath.fastforms.claims.gradients`)."""
