"""Querysets whose SQL the ORM builds once per process: see precompiled.queries."""

from precompiled.queries import Precompiled

__all__ = ["Precompiled"]
