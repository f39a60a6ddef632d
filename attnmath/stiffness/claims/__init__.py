"""Claims of the stiffness chapter (``stiffness.*`` ids, book: ``notebooks/50_stiffness``), one module per topic.

- :mod:`~attnmath.stiffness.claims.stability`: Euler's stability disc, real stability intervals of
  RK1-RK4, local error orders, the stiff 2x2 threshold;
- :mod:`~attnmath.stiffness.claims.error_control`: the Heun-Euler estimate, the error-optimal step and
  the classical controller, the secant controller against uniform steps;
- :mod:`~attnmath.stiffness.claims.measures`: the secant bound, JVP power iteration, scale invariance of
  SAI and the secant;
- :mod:`~attnmath.stiffness.claims.gates`: the exact gate phi1 and its stable evaluation, the gated block
  as diagonal Euler, the placement of exact gates (the lottery ticket);
- :mod:`~attnmath.stiffness.claims.reference_solvers`: adaptive steps on Van der Pol and Robertson;
- :mod:`~attnmath.stiffness.claims.learned_gates`: the learned step-size adaptor and the digits smoke test;
- :mod:`~attnmath.stiffness.claims.sizes`: the run sizes of both tiers (also read by the notebook).
"""
