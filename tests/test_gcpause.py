"""The garbage-collector pauses restore exactly the state they found."""

from __future__ import annotations

import gc

import pytest

from sim.gcpause import collector_paused, long_lived_frozen


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_collection_is_off_inside_and_on_again_after_even_on_an_error(collector_on):
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_nested_pause_does_not_restart_the_outer_one(collector_on):
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_the_objects_alive_before_are_frozen_inside_only(collector_on):
    assert gc.get_freeze_count() == 0
    keep = [{"node": i} for i in range(100)]
    with long_lived_frozen():
        assert gc.get_freeze_count() >= len(keep)
    assert gc.get_freeze_count() == 0


def test_objects_the_caller_froze_stay_frozen(collector_on):
    keep = [{"node": i} for i in range(100)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with long_lived_frozen():
            pass
        assert gc.get_freeze_count() == frozen >= len(keep)
    finally:
        gc.unfreeze()
