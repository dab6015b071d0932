"""Shared fixtures: the shared DEV corpus (third-party data, never copied into the project)."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme
from hypothesis import HealthCheck, settings

# Never a timing assertion (shared, loaded machines; CI too): no per-example deadline and no
# "too slow" health check for any property test; each test still sets its own examples.
settings.register_profile("mailbounce", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mailbounce")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def corpus_dir() -> Path | None:
    """``$MAILBOUNCE_CORPUS`` or ``../shared/corpus`` beside the clone, when present."""
    env = os.environ.get("MAILBOUNCE_CORPUS")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "corpus")
    for candidate in candidates:
        if (candidate / "bounces").is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if path is None:
        pytest.skip(
            "the shared DEV corpus is absent: set MAILBOUNCE_CORPUS or place it at "
            "../shared/corpus (CI always has it)"
        )
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mailbounce.db"


# A throwaway CA for the TLS tests (trustme): the server's certificate for 127.0.0.1 and the
# CA file a client is told to trust (`--ca-file`).
@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path
