"""Bridges to other training frameworks, each imported only when used: ``cl_core.integrations.lightning``."""
