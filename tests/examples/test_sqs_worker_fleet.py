"""The worker-fleet example does its job against cloudlet: everything processed, poison dead-lettered."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "sqs-worker-fleet" / "fleet.py"


def test_fleet_scales_out_processes_everything_and_dead_letters_poison(
    endpoint, monkeypatch, unique
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    spec = importlib.util.spec_from_file_location("fleet", EXAMPLE)
    fleet = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fleet)
    result = fleet.run(300, name=f"fleet-{unique}", timeout=90)
    assert result["done"] == 297  # every job except the three poison ones
    assert result["dead"] == 3
    assert result["peak_workers"] > 1  # the fleet grew with the backlog
