"""Language-model generators: grounded prompts, answer checks, and two chat backends.

* :mod:`rag.llm.prompt` — the Chinese prompt with numbered, delimited passages;
* :mod:`rag.llm.grounding` — marker repair, fact checks and citations of a model answer;
* :mod:`rag.llm.generator` — :class:`GroundedGenerator`, the :class:`~rag.protocols.Generator`
  that streams a model's answer and falls back to the extractive one;
* :mod:`rag.llm.openai_backend` and :mod:`rag.llm.transformers_backend` — the models;
* :mod:`rag.llm.rewrite` — follow-up questions made standalone by the model.

``rag.generators.build_generator`` chooses among them from the settings.  Importing
this package loads neither torch nor transformers.
"""

from rag.llm.backend import BackendError, ChatBackend, complete
from rag.llm.generator import GroundedGenerator
from rag.llm.grounding import GroundingChecker, GroundingResult
from rag.llm.rewrite import ModelQueryRewriter

__all__ = [
    "BackendError",
    "ChatBackend",
    "GroundedGenerator",
    "GroundingChecker",
    "GroundingResult",
    "ModelQueryRewriter",
    "complete",
]
