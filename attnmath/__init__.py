"""attnmath: four formal views of attention, as executable claims.

Subpackages and modules (each chapter of the book has one):

- ``attnmath.claims``   the claims ledger (registry, runner, results, notebook display)
- ``attnmath.softmax``  softmax attention: definition, Nadaraya–Watson, mixing matrix

Run ``python -m attnmath verify`` to check every registered claim.
"""

__version__ = "0.1.0"
