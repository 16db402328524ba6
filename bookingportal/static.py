"""The static files' storage in production: WhiteNoise's, with each file's address remembered.

Every page's layout asks for the addresses of its stylesheet, icon and script, and finding a
hashed name in the manifest and joining it to STATIC_URL cost about 30 µs each time. The
manifest is read once when the process starts and never changes while it runs (a deploy
starts new processes), so an address found once is the answer for the process's life.
"""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage

# The layout's few files and what pages add; a bound all the same.
MAX_REMEMBERED = 1024


class RememberedManifestStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._addresses: dict[str, str] = {}

    def url(self, name: str | None, force: bool = False) -> str:
        if force or name is None:
            return str(super().url(name, force))
        address = self._addresses.get(name)
        if address is None:
            address = str(super().url(name))  # a file missing from the manifest raises here
            if len(self._addresses) < MAX_REMEMBERED:
                self._addresses[name] = address
        return address
