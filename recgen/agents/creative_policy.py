"""A learnable creative choice: π(style | content), a distribution over the named styles for a product's
first content code. It starts uniform and is trained by GDPO (rewards/gdpo.py) from the rewards of the
videos it chose; the generation path can then ask it which style to make for a product."""

from __future__ import annotations

from pathlib import Path

import torch


class CreativePolicy(torch.nn.Module):
    def __init__(self, n_content: int, styles: tuple[str, ...], hidden: int = 16) -> None:
        super().__init__()
        self.styles = tuple(styles)
        self.content = torch.nn.Embedding(n_content, hidden)
        self.head = torch.nn.Linear(hidden, len(styles))
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)  # uniform at the start

    def logits(self, content: torch.Tensor) -> torch.Tensor:
        """content: (B,) first content codes → (B, styles)."""
        return self.head(torch.tanh(self.content(content)))

    def log_probs(self, content: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(content), dim=-1)

    def sample(self, content: int, n: int, generator: torch.Generator) -> list[int]:
        with torch.no_grad():
            p = self.log_probs(torch.tensor([content])).exp()[0]
        return torch.multinomial(p, n, replacement=True, generator=generator).tolist()

    def best(self, content: int) -> str:
        with torch.no_grad():
            return self.styles[int(self.logits(torch.tensor([content]))[0].argmax())]

    def save(self, path: Path) -> Path:
        torch.save({"styles": list(self.styles), "n_content": self.content.num_embeddings,
                    "state": self.state_dict()}, path)  # fmt: skip
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> CreativePolicy:
        data = torch.load(path, weights_only=True)
        p = cls(data["n_content"], tuple(data["styles"]))
        p.load_state_dict(data["state"])
        return p
