"""The portal's settings, with the floor's addresses added to its URLs."""

from bookingportal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor.urls"
