"""The staff admin, one module per concern; importing them registers every admin."""

from appointments.admin import customers  # noqa: F401
