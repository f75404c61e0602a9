"""`python -m planner`. The guard matters: vLLM's engine core starts in a spawned process, which imports this module
again and must not run the command line a second time."""
from planner.app.cli import entry

if __name__ == "__main__":
    entry()
