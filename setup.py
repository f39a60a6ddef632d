"""Package list for setuptools (the rest of the metadata is in pyproject.toml).

The repository keeps the kernels in the top-level folder ``kernels/``, but they install as
``attnmath.kernels``: a top-level ``kernels`` package already exists on the public package index,
and libraries that probe for that name would mistake ours for it. setuptools' ``package_dir``
maps the import name to the folder; the package list is computed here so that a new subpackage of
either folder is shipped without editing a hand-written list.
"""

from setuptools import find_packages, setup

KERNELS = [
    "attnmath.kernels" + name.removeprefix("kernels") for name in find_packages(include=["kernels", "kernels.*"])
]

setup(
    packages=find_packages(include=["attnmath", "attnmath.*"]) + KERNELS,
    package_dir={"attnmath.kernels": "kernels"},
    package_data={
        "attnmath": ["py.typed"],  # PEP 561: the package is typed
        "attnmath.kernels": ["py.typed"],
        "attnmath.ledger": ["claims_index.json"],  # what `python -m attnmath list` reads without importing chapters
    },
)
