"""Training and evaluation of the GRM: next-token cross-entropy over every item of the training histories,
early stopping on validation NDCG@10 measured by the same beam search and metrics as the test."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from recgen.sid.beam import CodeTrie, recommend_items
from recgen.sid.data import Split
from recgen.sid.grm import BOS, GRM, PAD, Tokenizer, cosine_lr
from recgen.sid.metrics import rank_metrics
from recgen.sid.seen import SeenItems


@dataclass
class TrainConfig:
    epochs: int = 60
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    patience: int = 6  # epochs without a better validation NDCG@10 before stopping
    # no stopping before this epoch (None: half of `epochs`): validation on a sample is noisy, and an early
    # spike at a still-high learning rate would otherwise end a run long before the schedule has annealed
    min_epochs: int | None = None
    eval_users: int = 2000  # validation sample per epoch (the full set for the final test)
    eval_every: int = 1
    beam: int = 20
    seed: int = 0
    label_smoothing: float = 0.0  # spread over the codes of the level being written
    # > 0: validate, keep and return an exponential moving average of the weights (this decay per step);
    # None: AUTO_EMA when the run is long enough for the average to catch up (see `resolve_ema`), else off
    ema: float | None = 0.0
    device: str | None = None  # where the model trains and validates (`resolve_device`); None: where it is


AUTO_EMA = 0.998  # +4–6 % on every metric over three seeds on full Beauty (README)
# the average's half-life at 0.998 is ~350 steps: a run must be several of those long or the kept weights
# stay close to the random start (full Beauty: 93 steps per epoch at batch 256, ~3,700 in 40 epochs)
AUTO_EMA_MIN_STEPS = 1000


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(choice: str) -> str:
    """`auto` → CUDA when torch sees a GPU, else CPU. Asking for CUDA without one is an error, not a silent
    CPU run: a job sized for a GPU would take hours on the CPU."""
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice not in DEVICES:
        raise ValueError(f"device is 'auto', 'cpu' or 'cuda', got {choice!r}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA device (torch.cuda.is_available() is False)")
    return choice


def resolve_ema(ema: float | None, total_steps: int) -> float:
    """The EMA decay a run actually uses: an explicit value as given, `None` by the length of the run."""
    if ema is not None:
        return ema
    return AUTO_EMA if total_steps >= AUTO_EMA_MIN_STEPS else 0.0


@dataclass
class TrainReport:
    epochs_run: int
    best_epoch: int
    best_valid: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    ema: float = 0.0  # the decay used (0: none)


def training_windows(train: tuple[np.ndarray, ...], max_items: int) -> list[np.ndarray]:
    """Every history of ≥ 2 items, cut into windows of max_items + 1 (each item is a target once)."""
    out = []
    span = max_items + 1
    for s in train:
        if len(s) < 2:
            continue
        end = len(s)
        while end > 1:
            out.append(s[max(0, end - span) : end])
            end -= max_items
    return out


def trie_parents(tokens: torch.Tensor, levels: torch.Tensor, offsets: list[int], trie: CodeTrie) -> torch.Tensor:
    """Each token's parent node in the trie (the node of the item's codes before it; root 0 for level 0)."""
    is_code = (tokens != PAD) & (tokens != BOS)
    code = tokens - torch.as_tensor(offsets + [0], device=tokens.device)[levels]
    node = torch.full_like(tokens, -1)
    parent = torch.zeros_like(tokens)
    for lv in range(trie.depth):
        sel = is_code & (levels == lv)
        if lv:
            parent[sel] = F.pad(node[:, :-1], (1, 0), value=-1)[sel]
        node[sel] = trie.step(lv, parent[sel], code[sel])
    return parent


def lm_loss(
    model: GRM,
    tok: Tokenizer,
    windows: list[np.ndarray],
    label_smoothing: float = 0.0,
    trie: CodeTrie | None = None,
) -> torch.Tensor:
    """Cross-entropy of every next code token, each scored only against its own level's codebook — or, for
    a `constrained` model, only against the codes the item trie allows after the item's previous codes."""
    c = model.config
    if c.constrained and label_smoothing:
        raise ValueError("label smoothing would put probability on codes a constrained model excludes")
    if c.history == "items":
        return _item_level_loss(model, tok, windows, label_smoothing, trie)
    dev = next(model.parameters()).device
    tokens, levels, pos, items = (t.to(dev) for t in tok.batch(windows, max_items=c.max_items + 1))
    hidden = model(tokens[:, :-1], levels[:, :-1], pos[:, :-1], items[:, :-1])
    target, next_level = tokens[:, 1:], levels[:, 1:]
    valid = (target != PAD) & (target != BOS)  # BOS follows left padding; it is never predicted
    parent = None
    if c.constrained:
        trie = trie or CodeTrie(tok.item_codes)
        parent = trie_parents(tokens, levels, c.offsets, trie)[:, 1:]
        if (parent[valid] < 0).any():
            raise ValueError("a training item's codes are not in the trie")
    shares = seen_shares(model, tok, windows, trie)
    slot = torch.arange(target.shape[1], device=dev) // c.levels  # the window item each target token belongs to
    if shares is not None and shares[0].shape[1] * c.levels != target.shape[1]:
        raise ValueError("token and item batches of the same windows must line up")
    total, count = hidden.new_zeros(()), 0
    for lv, (off, size) in enumerate(zip(c.offsets, c.level_sizes, strict=True)):
        sel = valid & (next_level == lv)
        n = int(sel.sum())
        if n == 0:
            continue
        row, col = sel.nonzero(as_tuple=True)
        logits = model.level_logits(hidden[sel], lv, None if shares is None else shares[lv][row, slot[col]])
        if parent is not None and trie is not None:
            logits = logits + trie.mask(lv, parent[sel], size)
        total = total + F.cross_entropy(logits, target[sel] - off, reduction="sum", label_smoothing=label_smoothing)
        count += n
    return total / max(count, 1)


def _item_level_loss(
    model: GRM, tok: Tokenizer, windows: list[np.ndarray], label_smoothing: float, trie: CodeTrie | None
) -> torch.Tensor:
    """history="items": every item after the first is written by the item decoder from the output of the
    history item before it; the same per-level (or trie-constrained) cross-entropy as the token model."""
    c = model.config
    dev = next(model.parameters()).device
    tokens, pos, items = (t.to(dev) for t in tok.item_batch(windows, max_items=c.max_items + 1))
    hidden = model.encode_items(tokens[:, :-1], pos[:, :-1], items[:, :-1])
    target = tokens[:, 1:]
    valid = (target[..., 0] != PAD) & (tokens[:, :-1, 0] != PAD)  # a row's first item has nothing to follow
    target = target[valid]  # (N, L) code tokens of the items to write
    states = model.item_decode(hidden[valid], target[:, :-1])
    offsets = torch.as_tensor(c.offsets, device=dev)
    codes = target - offsets
    if c.constrained:
        trie = trie or CodeTrie(tok.item_codes)
        node = torch.zeros(len(codes), dtype=torch.long, device=dev)
    shares = seen_shares(model, tok, windows, trie)
    total = hidden.new_zeros(())
    for lv, size in enumerate(c.level_sizes):
        logits = model.level_logits(states[:, lv], lv, None if shares is None else shares[lv][:, 1:][valid])
        if c.constrained and trie is not None:
            logits = logits + trie.mask(lv, node, size)
            node = trie.step(lv, node, codes[:, lv])
            if (node < 0).any():
                raise ValueError("a training item's codes are not in the trie")
        total = total + F.cross_entropy(logits, codes[:, lv], reduction="sum", label_smoothing=label_smoothing)
    return total / max(codes.numel(), 1)


def seen_shares(
    model: GRM, tok: Tokenizer, windows: list[np.ndarray], trie: CodeTrie | None
) -> list[torch.Tensor] | None:
    """With `seen_bias`: per level, (B, window items, codes) — for each window item, the share of the items
    under each code (after that item's own prefix) that the window's earlier items hold. None without it."""
    c = model.config
    if not c.seen_bias:
        return None
    dev = next(model.parameters()).device
    tokens = tok.item_batch(windows, max_items=c.max_items + 1)[0].to(dev)
    valid = tokens[..., 0] != PAD
    seen = SeenItems(trie or CodeTrie(tok.item_codes), tokens - torch.as_tensor(c.offsets, device=dev), valid)
    return [seen.share(lv, seen.parent[:, :, lv], size, causal=True) for lv, size in enumerate(c.level_sizes)]


def evaluate(
    model: GRM,
    tok: Tokenizer,
    trie: CodeTrie,
    histories: tuple[np.ndarray, ...],
    targets: np.ndarray,
    beam: int = 20,
    ks: tuple[int, ...] = (5, 10),
    batch_size: int = 256,
    exclude_seen: bool = False,
) -> dict[str, float]:
    """Recall/NDCG of the beam's top items; `exclude_seen`: the user's own history items are skipped."""
    hist = list(histories)
    exclude = hist if exclude_seen else None
    ranked = recommend_items(model, tok, trie, hist, max(ks), beam=beam, batch_size=batch_size, exclude=exclude)
    return rank_metrics(ranked, targets, ks)


def train_grm(
    model: GRM,
    tok: Tokenizer,
    split: Split,
    cfg: TrainConfig,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainReport:
    """Train in place on `cfg.device` (the model stays there; None: where the model already is); the weights
    of the best validation epoch are restored at the end."""
    if cfg.device is not None:
        model.to(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    windows = training_windows(split.train, model.config.max_items)
    if not windows:
        raise ValueError("no training history has two or more items")
    trie = CodeTrie(tok.item_codes)
    sample = rng.choice(len(split.valid_target), size=min(cfg.eval_users, len(split.valid_target)), replace=False)
    v_hist = tuple(split.valid_history[i] for i in sample)
    v_tgt = split.valid_target[sample]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    min_epochs = cfg.epochs // 2 if cfg.min_epochs is None else cfg.min_epochs
    steps_per_epoch = (len(windows) + cfg.batch_size - 1) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    best, best_state, best_epoch, stale = -1.0, None, 0, 0
    ema = resolve_ema(cfg.ema, total)
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema)) if ema > 0 else None
    judged = model if averaged is None else averaged.module
    report = TrainReport(0, 0, {}, ema=ema)
    t0, step = time.perf_counter(), 0
    lengths = np.array([len(w) for w in windows])
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        # batches of similar length waste little on padding; their order is shuffled
        order = np.argsort(lengths + rng.uniform(0, 2, len(lengths)), kind="stable")
        batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        losses = []
        for b in rng.permutation(len(batches)):
            batch = [windows[i] for i in batches[b]]
            for g in opt.param_groups:
                g["lr"] = cosine_lr(step, total, cfg.lr)
            loss = lm_loss(model, tok, batch, cfg.label_smoothing, trie)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if averaged is not None:
                averaged.update_parameters(model)
            losses.append(float(loss.detach()))
            step += 1
        row = {"epoch": epoch, "loss": float(np.mean(losses))}
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            row.update({f"valid_{k}": v for k, v in evaluate(judged, tok, trie, v_hist, v_tgt, cfg.beam).items()})
            score = row["valid_ndcg@10"]
            if score > best:
                best, best_epoch, stale = score, epoch, 0
                best_state = copy.deepcopy(judged.state_dict())
            else:
                stale += 1
        report.history.append(row)
        if on_epoch:
            on_epoch(epoch, row)
        if stale >= cfg.patience and epoch >= min_epochs:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    report.epochs_run = len(report.history)
    report.best_epoch = best_epoch
    report.best_valid = {k: v for k, v in report.history[best_epoch - 1].items() if k.startswith("valid_")}
    report.seconds = time.perf_counter() - t0
    model.eval()
    return report
