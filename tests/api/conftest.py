import warnings

import pytest

from visafree.api import create_app
from visafree.api.devserver import running_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2 is not ours to fix
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def app():
    # Without the register layer's router: its endpoints are tested in tests/register.
    return create_app(include_optional=False)


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def live_url(app):
    """A real uvicorn server on a free loopback port (one per xdist worker)."""
    with running_server(app) as url:
        yield url
