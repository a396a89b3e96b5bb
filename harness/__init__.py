"""harness: measure RAG, LoRA, QLoRA and hybrids on your own scenarios, and recommend one."""

import os as _os

# ragas sends usage analytics from a background thread unless told not to; harness runs offline and
# evaluates users' private data, so it opts out (a user who sets the variable keeps their choice)
_os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

__version__ = "0.1.0"
