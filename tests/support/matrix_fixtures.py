"""Session-wide homeservers: starting Synapse costs seconds, a user costs milliseconds.

Tests isolate themselves by registering fresh users and rooms rather than by
getting a fresh server. A failure to install or start Synapse is an error,
never a skip, so a broken environment cannot pass CI with the e2e tests unrun.

The functions are named apart from their fixtures so that importing them into a
test module (`from tests.support.matrix_fixtures import synapse_server  # noqa: F401`)
does not trip ruff's F811 on every test that takes `synapse` as a parameter.
"""

from collections.abc import Iterator

import pytest

from tests.support.synapse import Synapse


@pytest.fixture(scope="session", name="synapse")
def synapse_server() -> Iterator[Synapse]:
    with Synapse() as server:
        yield server


@pytest.fixture(scope="session", name="synapse_ratelimited")
def synapse_ratelimited_server() -> Iterator[Synapse]:
    """Synapse's default limits, for tests of 429 handling; kept apart so they do not
    throttle everything else."""
    with Synapse(ratelimits=True) as server:
        yield server
