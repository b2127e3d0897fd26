"""What the user has already seen, as a feature of every code the GRM may write next (`GRMConfig.seen_bias`).

No user of the Beauty data interacts with an item twice, yet a sequence model trained on it puts about one of
the user's own items into an average top 10: their codes lie right where it predicts the next item. With the
seen bias, the logit of code c after a prefix gets w_level × log(1 − s), where s is the share of the items
under (prefix, c) that the user's history holds (1 − s floored at SEEN_FLOOR). The weights w are learned with
the rest of the model, from zero: data where users do come back to items would learn the opposite sign. Were
the model's probability spread evenly inside a subtree, w = 1 would renormalise the user's own items away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

if TYPE_CHECKING:
    from recgen.sid.beam import CodeTrie

SEEN_FLOOR = 1e-3


def seen_log_share(share: torch.Tensor) -> torch.Tensor:
    """The feature the learned weight multiplies: log of the share of a subtree the user has not seen."""
    return torch.log((1.0 - share).clamp(min=SEEN_FLOOR))


class SeenItems:
    """A batch of histories as item code paths (B, H, L) and their trie nodes, to count, for any trie node,
    how many of each row's items lie under each of its child codes."""

    def __init__(self, trie: CodeTrie, codes: torch.Tensor, valid: torch.Tensor) -> None:
        self.trie, self.valid = trie, valid
        self.codes = codes.clamp(min=0)
        B, H, L = codes.shape
        parent = torch.zeros(B, H, L, dtype=torch.long, device=codes.device)
        node = torch.zeros(B * H, dtype=torch.long, device=codes.device)
        for lv in range(L - 1):
            node = trie.step(lv, node, self.codes[:, :, lv].reshape(-1))
            parent[:, :, lv + 1] = node.view(B, H)
        self.parent = parent.masked_fill(~valid[..., None], -2)  # −2 matches no node, not even a dead beam's −1

    @classmethod
    def from_histories(
        cls, trie: CodeTrie, item_codes: np.ndarray, histories: list[np.ndarray], device: torch.device
    ) -> SeenItems:
        """Every item of each history (not only the model's window: all of them have been seen)."""
        H = max([1] + [len(h) for h in histories])
        ids = np.zeros((len(histories), H), np.int64)
        valid = np.zeros((len(histories), H), bool)
        for r, h in enumerate(histories):
            ids[r, : len(h)], valid[r, : len(h)] = h, True
        codes = torch.from_numpy(np.asarray(item_codes, dtype=np.int64)[ids]).to(device)
        return cls(trie, codes, torch.from_numpy(valid).to(device))

    def share(self, lv: int, nodes: torch.Tensor, width: int, causal: bool = False) -> torch.Tensor:
        """(B, R, width): for each row's R trie nodes (level lv − 1; the root for lv 0), the share of the items
        under each child code that the row's history holds. `causal` (R = H): node r counts only items before r."""
        B, R = nodes.shape
        match = (self.parent[:, None, :, lv] == nodes[:, :, None]) & self.valid[:, None, :]
        if causal:
            match = match & torch.ones(R, R, dtype=torch.bool, device=nodes.device).tril(-1)
        count = match.float() @ F.one_hot(self.codes[:, :, lv], width).float()
        size = self.trie.sizes(lv, nodes.reshape(-1), width).view(B, R, width)
        return count / size.clamp(min=1)
