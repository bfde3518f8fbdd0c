"""`TANTIEME_HOME/models.json`: the models this node serves, their offers, and the default one.

Kept apart from `tantieme.interaction` (which loads web3 and the chain) so that a command
can read which model it will run, and start loading it, before the chain has loaded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tantieme.config import home
from tantieme.errors import ConfigError, UnknownModelError
from tantieme.files import write_json

if TYPE_CHECKING:
    from tantieme import ai

__all__ = ["ModelEntry", "Models"]


@dataclass
class ModelEntry:
    """A model this node serves: its asset, backend and offer."""

    asset_id: int
    name: str
    backend: str
    options: dict
    weights_hash: str
    price_prompt_per_million: int
    price_completion_per_million: int

    @property
    def offer(self) -> ai.Offer:
        from tantieme import ai

        return ai.Offer(self.price_prompt_per_million, self.price_completion_per_million)


@dataclass
class Models:
    """`TANTIEME_HOME/models.json`: the node's models and its default one."""

    default: int | None = None
    models: dict[str, ModelEntry] = field(default_factory=dict)

    @staticmethod
    def path() -> Path:
        return home() / "models.json"

    @classmethod
    def load(cls) -> Models:
        path = cls.path()
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text())
            return cls(default=data["default"], models={k: ModelEntry(**v) for k, v in data["models"].items()})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"{path} is damaged ({type(exc).__name__}: {exc}); run `tantieme doctor --repair` "
                "to rebuild it from the chain, or move it away and `tantieme model register` again"
            ) from None

    def save(self) -> None:
        write_json(self.path(), {"default": self.default, "models": {k: asdict(v) for k, v in self.models.items()}})

    def get(self, asset_id: int | None = None) -> ModelEntry:
        key = asset_id if asset_id is not None else self.default
        if key is None:
            raise UnknownModelError("no model is registered on this node: run `tantieme model register` first")
        if str(key) not in self.models:
            served = ", ".join(f"#{k}" for k in self.models) or "none"
            raise UnknownModelError(f"this node does not serve model {key} (it serves: {served}; see `tantieme model list`)")
        return self.models[str(key)]

    def set_default(self, asset_id: int) -> ModelEntry:
        """Make a served model the one `ask` uses."""
        entry = self.get(asset_id)
        self.default = asset_id
        self.save()
        return entry

    def set_price(self, asset_id: int, prompt: int | None = None, completion: int | None = None) -> ModelEntry:
        """Change a served model's offer (token wei per million tokens) for future answers."""
        entry = self.get(asset_id)
        if prompt is not None:
            entry.price_prompt_per_million = prompt
        if completion is not None:
            entry.price_completion_per_million = completion
        self.save()
        return entry
