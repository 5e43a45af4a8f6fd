"""Self-supervised methods on one interface (see base.Method); importing registers them."""

# Import order is registration order: the order the CLI and the app list the methods in.
from cl_core.methods import simclr, moco, byol, swav, contrastive, simsiam, barlow, vicreg  # noqa: F401, I001
from cl_core.methods.base import METHODS, Method, build_method, get_method_class, register, temperature_of

__all__ = ["METHODS", "Method", "build_method", "get_method_class", "register", "temperature_of"]
