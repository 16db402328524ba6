"""Production's static storage: the manifest's hashed addresses, each found once a process."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from bookingportal.static import RememberedManifestStorage


def storage_with(tmp_path, paths: dict[str, str]) -> RememberedManifestStorage:
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"paths": paths, "version": "1.1", "hash": "0"})
    )
    return RememberedManifestStorage(location=str(tmp_path), base_url="/static/")


@override_settings(DEBUG=False)
def test_a_file_has_its_hashed_address_every_time(tmp_path):
    storage = storage_with(tmp_path, {"css/portal.css": "css/portal.0123abcd.css"})
    assert storage.url("css/portal.css") == "/static/css/portal.0123abcd.css"
    # The manifest is read when the process starts; the address found is the process's.
    (tmp_path / "staticfiles.json").write_text("{}")
    assert storage.url("css/portal.css") == "/static/css/portal.0123abcd.css"


@override_settings(DEBUG=False)
def test_a_file_missing_from_the_manifest_is_an_error_each_time(tmp_path):
    storage = storage_with(tmp_path, {})
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/nowhere.css")
