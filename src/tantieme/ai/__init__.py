"""Local AI: an offline small model answers from consenting works only, with
measured attribution and token metering.

The CLI calls :func:`ask` with an :class:`Index`, a model from
:func:`load_model` and the registry's live consent check, and prices the
result with :func:`fee`.
"""

from tantieme.ai.answer import Answer, Source, ask
from tantieme.ai.attribution import Attribution, attribute
from tantieme.ai.backends.llamacpp import default_model_path
from tantieme.ai.documents import extract_text, read_document
from tantieme.ai.index import Hit, Index, Work
from tantieme.ai.metering import Offer, fee
from tantieme.ai.models import Generation, Message, Model, load_model, register_backend

__all__ = [
    "Answer",
    "Attribution",
    "Generation",
    "Hit",
    "Index",
    "Message",
    "Model",
    "Offer",
    "Source",
    "Work",
    "ask",
    "attribute",
    "default_model_path",
    "extract_text",
    "fee",
    "load_model",
    "read_document",
    "register_backend",
]
