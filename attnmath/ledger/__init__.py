"""The claims ledger, one module per concern; :mod:`attnmath.claims` is its public face.

- :mod:`~attnmath.ledger.checks`    check constructors (:func:`~attnmath.ledger.checks.close`, ``band``, ...)
- :mod:`~attnmath.ledger.registry`  :class:`Claim`, the ``claim`` decorator, loading and selection
- :mod:`~attnmath.ledger.results`   :class:`ClaimResult`, the JSON report and the table
- :mod:`~attnmath.ledger.runner`    running one claim or a selection
- :mod:`~attnmath.ledger.display`   notebook display (``show``)
- :mod:`~attnmath.ledger.cache`     result cache and artifact store for one test run

Chapters import from :mod:`attnmath.claims`, never from these modules directly.
"""
