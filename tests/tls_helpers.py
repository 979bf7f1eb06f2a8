"""A throwaway certificate for tests of TLS clients (mail over STARTTLS, webhooks over HTTPS)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def self_signed(directory: Path, *, common_name: str, alt_names: str) -> Path:
    """``key.pem`` and ``cert.pem`` in ``directory``, valid for a day for those names; skips without openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", str(directory / "key.pem"))
    names = ("-subj", f"/CN={common_name}", "-addext", f"subjectAltName={alt_names}")
    command = ("openssl", "req", "-x509", "-nodes", "-days", "1", *key, *names, "-out", str(directory / "cert.pem"))
    subprocess.run(command, check=True, capture_output=True)
    return directory
