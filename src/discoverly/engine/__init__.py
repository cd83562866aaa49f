"""Where discoverly's batch jobs run, and what they cost.

- :mod:`discoverly.engine.memory`: the local path's memory budget — an estimate of a fit's peak
  memory made *before* anything big is allocated, checked against ``max_memory`` (or the machine's
  available memory), failing with a clear error that names the way out (``--engine spark``).
- :mod:`discoverly.engine.spark`: the same relatedness and popularity jobs on Apache Spark (the
  ``spark`` extra), producing artifacts that load exactly like local ones.
"""

from discoverly.engine.memory import MemoryEstimate, check_memory, estimate_fit_memory, parse_size

__all__ = ["MemoryEstimate", "check_memory", "estimate_fit_memory", "parse_size"]
