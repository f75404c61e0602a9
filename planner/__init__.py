"""llm-planner: measure LLM inference on your hardware and price it against the APIs."""

__version__ = "0.1.0"
