# mypy only: marks tools/mypy_path/attnmath as a package so that attnmath.kernels (the symlink beside this file,
# pointing at the repository's kernels/) is found under the name it installs as. The real package is attnmath/,
# found first; see [tool.mypy] in pyproject.toml.
