"""What makes a measurement untrustworthy, named in words."""
from planner.core.quality import trust_problems
from planner.core.records import MachineLoad
from tests.factories import make_profile, spread


def test_a_quiet_tight_profile_has_no_problems():
    assert trust_problems(make_profile()) == []


def test_contention_wide_intervals_and_faster_deep_decode_are_named():
    p = make_profile()
    p.load = MachineLoad(other_cpu_fraction=0.4, steal_fraction=0.01, load_avg_end=3.0, contended=True)
    p.decode[0].tok_s = spread(50, 20)  # ±40 %
    p.decode[1].tok_s = spread(200, 5)  # deeper context, 4× faster: not physical
    problems = trust_problems(p)
    assert len(problems) == 3
    assert problems[0].startswith("the machine was busy while measuring (other work took 40% of the CPUs")
    assert "decode at depth 0 ±40%" in problems[1]
    assert problems[2].startswith("decode at depth 4096 (200.0 tok/s) is faster than at depth 0 (50.0 tok/s)")


def test_a_test_the_profiler_marked_noisy_is_named():
    p = make_profile()
    p.notes.append("noisy: a test was measured twice while other work took 35% of the CPUs (the hypervisor 0%); its figures are kept but suspect")
    assert trust_problems(p) == ["a test was measured twice while other work took 35% of the CPUs (the hypervisor 0%); its figures are kept but suspect"]


def test_many_noisy_tests_are_one_reason():
    p = make_profile()
    p.notes += ["noisy: a test was measured twice while other work took 35% of the CPUs"] * 3
    assert trust_problems(p) == ["3 tests stayed contended after a repeat (first: a test was measured twice while other work took 35% of the CPUs)"]
