"""planner/measure/probes/telemetry.py: the load meter counts this process tree's own CPU, a reaped child's included."""
import subprocess
import sys

from planner.measure.probes.telemetry import LoadMeter


def test_a_child_started_and_reaped_during_the_measurement_is_own_work_not_other():
    # a load test starts its server, stops it and only then reads the meter: the server's CPU is the test's own
    before = LoadMeter._own_cpu_s()
    subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"], check=True)
    assert LoadMeter._own_cpu_s() - before >= 0.9  # the child's second of CPU, counted after it exited (not "other work")
