"""C2PA content credentials for answers: the node's CA, signing and verifying.

Every answer gets a `.c2pa` sidecar saying it was made by an AI model
(`c2pa.created`, IPTC `trainedAlgorithmicMedia`/`trainedAlgorithmicData`),
from which model and prompt (`inputTo` ingredients), what it may be used
for given its sources' consent (`cawg.training-mining`), and which
interaction record anchors it on chain (`org.tantieme.interaction`).
"""

from tantieme.provenance.ca import CA, ensure_ca
from tantieme.provenance.credentials import (
    CredentialReport,
    Issue,
    sidecar_path,
    sign_answer,
    verify_credential,
)
from tantieme.provenance.manifest import (
    INTERACTION_LABEL,
    TRAINING_MINING_RULES,
    AnswerFormat,
    Consent,
    ModelRef,
    Source,
    training_mining,
)

__all__ = [
    "CA",
    "INTERACTION_LABEL",
    "TRAINING_MINING_RULES",
    "AnswerFormat",
    "Consent",
    "CredentialReport",
    "Issue",
    "ModelRef",
    "Source",
    "ensure_ca",
    "sidecar_path",
    "sign_answer",
    "training_mining",
    "verify_credential",
]
