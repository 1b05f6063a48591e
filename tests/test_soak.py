"""The fault soak, short: two instances on one PostgreSQL, Matrix on a real Synapse, Discord on
the fake, people on both while every kind of fault is injected once; nothing is lost or doubled.

`python -m benchmarks.soak` runs the same scenario for minutes and prints its figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.soak import FAULTS, TAKEOVER_WITHIN, soak

pytestmark = pytest.mark.e2e


async def test_two_instances_under_faults_answer_and_announce_everything_once(
    tmp_path: Path,
) -> None:
    figures = await soak(seconds=34, every=4, drain=60, keep=tmp_path)
    report = "\n".join([*figures.lines(), f"logs and timeline: {tmp_path}"])
    assert {fault.split(" (")[0] for fault in figures.faults} == set(FAULTS), report
    assert figures.ok(), report
    assert all(
        sample < TAKEOVER_WITHIN for samples in figures.takeovers.values() for sample in samples
    ), report
