"""The Amazon States Language: definitions, their validation, and the engine that runs them.

Pure Python with no service imports, so the same engine serves durable STANDARD executions
(services/stepfunctions gives it a host backed by the store and timers) and EXPRESS executions
in memory (`local.LocalHost`).

- `definition`: validation with AWS's diagnostics, and `load()` into a compiled `Machine`
- `states`: the compiled form of states; `choice`, `templates`, `jsonpath`, `intrinsics` and
  `query` (JSONata) compile what states evaluate
- `engine`, `tasks`, `fanout`: the interpreter; `frame`: where an execution is, and the Host
  interface for side effects
- `local`: an in-memory host and `run_local()`
"""

from cloudlet.workflows.definition import load, validate
from cloudlet.workflows.errors import DefinitionError, Diagnostic, StatesError

__all__ = ["DefinitionError", "Diagnostic", "StatesError", "load", "validate"]
