"""The measuring session the three profilers share: repetitions until the CI is tight (the clock lives here, not in
the core), a crowded test measured again, the profile saved after each test, Ctrl-C and SIGTERM keeping what finished."""
import pytest

from planner.core.errors import InputError, Interrupted, Terminated, TerminatedRun
from planner.core.quality import NOISY_NOTE
from planner.core.records import MachineLoad
from planner.core.stats import relative_ci_half_width
from planner.formats.profiles import load_profile
from planner.measure import session as session_module
from planner.measure.session import MeasuringSession, repeat_until_stable
from tests.factories import make_profile


def test_repeat_stops_when_stable():
    values = iter([100.0, 100.5, 99.5, 100.0] + [1.0] * 100)
    samples = repeat_until_stable(lambda: next(values), min_reps=3, max_reps=50, target_rel_ci=0.03, time_budget_s=1e9)
    assert len(samples) == 3 and relative_ci_half_width(samples) <= 0.03


def test_repeat_respects_budget_and_max():
    ticks = iter(range(1000))
    noisy = iter([1.0, 10.0] * 100)
    samples = repeat_until_stable(lambda: next(noisy), min_reps=3, max_reps=8, target_rel_ci=0.01, time_budget_s=5,
                                  clock=lambda: float(next(ticks)))
    # the clock reads 0 at the start, then 1, 2, … after each sample from the third on: the budget (5) is spent at sample 7
    assert len(samples) == 7
    ticks = iter(range(1000))
    assert len(repeat_until_stable(lambda: next(noisy), min_reps=3, max_reps=8, target_rel_ci=0.01, time_budget_s=1e9,
                                   clock=lambda: float(next(ticks)))) == 8  # no budget limit: max_reps stops it
    assert len(repeat_until_stable(lambda: next(noisy), min_reps=2, max_reps=4, target_rel_ci=1e-9, time_budget_s=1e9)) == 4


def test_repeat_rejects_bad_limits():
    with pytest.raises(InputError, match="min_reps"):
        repeat_until_stable(lambda: 1.0, min_reps=1)
    with pytest.raises(InputError, match="max_reps"):
        repeat_until_stable(lambda: 1.0, min_reps=3, max_reps=2)


class _Meter:
    """A stand-in for the machine-load meter (the CPU share of other processes cannot be produced on cue): reports
    crowded for the first `crowded` measurements, quiet after."""

    crowded = 0

    def stop(self) -> MachineLoad:
        _Meter.crowded -= 1
        busy = _Meter.crowded >= 0
        return MachineLoad(other_cpu_fraction=0.6 if busy else 0.0, steal_fraction=0.0, contended=busy)


@pytest.mark.parametrize("crowded,takes,noisy", [(0, 1, False), (1, 2, False), (2, 2, True)])
def test_a_crowded_test_is_measured_again_and_marked_if_it_stays_crowded(crowded, takes, noisy, tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "LoadMeter", _Meter)
    _Meter.crowded = crowded + 1  # the session's own meter is made first and read last
    run = MeasuringSession(make_profile(), tmp_path / "p.json")
    _Meter.crowded = crowded
    calls = []
    assert run.measured(lambda: calls.append(1) or len(calls)) == takes
    assert any(NOISY_NOTE in n for n in run.profile.notes) == noisy


@pytest.mark.parametrize("exc,error,code", [(KeyboardInterrupt, Interrupted, 130), (Terminated, TerminatedRun, 143)])
def test_a_stop_saves_the_finished_part_as_partial_and_says_which_signal(exc, error, code, tmp_path):
    profile = make_profile()
    profile.status = "partial"
    path = tmp_path / "p.json"
    with pytest.raises(error, match=r"the finished tests are saved in .*p.json \(status: partial\)") as raised:
        with MeasuringSession(profile, path) as run:
            run.save()
            raise exc()
    assert type(raised.value) is error and raised.value.exit_code == code
    saved = load_profile(path)
    assert saved.status == "partial" and "still running were dropped" in saved.notes[-1]


def test_a_finished_session_is_complete_and_an_early_stop_is_not(tmp_path):
    with MeasuringSession(make_profile(), tmp_path / "a.json"):
        pass
    assert load_profile(tmp_path / "a.json").status == "complete"
    profile = make_profile()
    profile.status = "partial"
    with MeasuringSession(profile, tmp_path / "b.json") as run:
        run.stop_early("the server stopped answering")
        run.save()
    assert load_profile(tmp_path / "b.json").status == "partial" and "the server stopped answering" in load_profile(tmp_path / "b.json").notes
