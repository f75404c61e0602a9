"""`python -m planner`. The guard matters: vLLM's engine core starts in a spawned process, which imports this module
again and must not run the command line a second time."""
import sys

from planner.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
