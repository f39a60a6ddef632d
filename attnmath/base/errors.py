"""Exceptions shared by the package (no imports, so that the light modules can use them)."""

__all__ = ["MissingDependency"]


class MissingDependency(RuntimeError):
    """An optional dependency (``package``) is not installed, so this code path cannot run here.

    Raised, for example, when a Triton kernel is launched on a machine without the ``triton``
    package; the claims runner reports a claim that raises it as *skipped*, not failed.
    """

    def __init__(self, package: str, message: str):
        super().__init__(message)
        self.package = package
