"""Train PVSE on clip-text pairs with the paper's objective, on cached frozen features.

Objective: L = L_mil + lambda_1 L_div + lambda_2 L_mmd (paper eq. 5, `pvse.losses.pvse_loss`), optimised with
AMSGrad (lr 2e-4), gradient norm clipped at 2, the learning rate halved when the validation rsum stops improving
(ReduceLROnPlateau, mode max) and the epoch with the best validation rsum kept as `best/` - the test split is
never looked at. Frame and word features are frozen, computed once and cached (`banks`, `pvse.features.cache`), so an epoch
is only GRU + PIE-Net work.

Output directory:
    best/  last/          checkpoints in the project format (`pvse.checkpoints`)
    train_state.pt        model, optimiser, scheduler and best-so-far after the last finished epoch (for --resume)
    log.jsonl             one JSON line per epoch: losses, validation metrics, learning rate, seconds
    train_config.json     the run's settings, model config and data summary; split.json: each split's files
Batches are a pure function of (seed, epoch), so an interrupted run resumed from train_state.pt ends with the
same weights, bit for bit, as one that was never interrupted (same device and thread count).
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.utils import clip_grad_norm_
from tqdm.auto import tqdm

from ..atomic_file import atomic_file
from ..checkpoints import resolve_device, save_checkpoint
from ..config import PVSEConfig
from ..data import PairDataset, load_dataset
from ..devices import DEFAULT_DEVICE
from ..errors import ConfigError, PVSEError, WeightsError
from ..features.registry import frame_extractors, word_features
from ..losses import DIVERSITY_ON, pvse_loss
from ..model import PVSE
from .banks import FrameBank, TextBank, load_frame_bank, load_text_bank
from .evaluate import split_metrics, usable_split
from .metrics import RetrievalMetrics
from .sampling import epoch_batches

STATE_FILE = "train_state.pt"
LOG_FILE = "log.jsonl"
CONFIG_FILE = "train_config.json"
SPLIT_FILE = "split.json"
STATE_VERSION = 1
TRAIN_ON = ("train", "train+val")
# settings that do not change what is computed, so a run may be resumed with other values
RESUMABLE_CHANGES = {"epochs", "resume", "progress", "device", "feature_cache", "out", "eval_batch_size", "threads"}


MODEL_FIELDS = ("num_embeds", "embed_dim", "dropout", "residual", "num_frames", "word_features",
                "frame_features")  # the PVSEConfig fields `pvse train` sets


@dataclass
class TrainConfig:
    """Everything `pvse train` can set. Defaults follow the reference code (yalesong/pvse option.py)."""

    data: str = "emoji"
    out: str = "runs/pvse"
    # data spec options
    clips_dir: str | None = None
    split_rule: str | None = None
    split_seed: int = 0
    extra_pairs: list[str] = field(default_factory=list)
    # model: the PVSEConfig fields of MODEL_FIELDS, defaults owned by PVSEConfig (model_config() builds it)
    num_embeds: int = PVSEConfig.num_embeds
    embed_dim: int = PVSEConfig.embed_dim
    dropout: float = PVSEConfig.dropout
    residual: str = PVSEConfig.residual
    num_frames: int = PVSEConfig.num_frames
    word_features: str = PVSEConfig.word_features
    frame_features: str = PVSEConfig.frame_features
    # objective (eq. 5)
    margin: float = 0.1
    lambda_div: float = 0.1
    lambda_mmd: float = 0.01
    diversity_on: str = "residuals"  # what L_div pushes apart: residuals (paper), embeddings or attention
    # optimisation
    batch_size: int = 128
    epochs: int = 30
    passes_per_epoch: int = 1  # times each clip is visited per epoch (each time with another of its texts)
    lr: float = 2e-4
    grad_clip: float = 2.0
    lr_patience: int = 10
    lr_factor: float = 0.5
    train_on: str = "train"
    seed: int = 0
    # running
    device: str = DEFAULT_DEVICE
    feature_cache: str | None = None
    resume: bool = False
    progress: bool = True
    eval_batch_size: int = 256
    threads: int | None = None  # torch CPU threads while training (None: leave as is)

    def check(self) -> None:
        if self.train_on not in TRAIN_ON:
            raise ConfigError(f"--train-on must be one of {', '.join(TRAIN_ON)}, got '{self.train_on}'")
        for kind, name, known in (("word", self.word_features, word_features()),
                                  ("frame", self.frame_features, frame_extractors())):
            if name not in known or not known[name].trainable:
                usable = ", ".join(n for n, spec in known.items() if spec.trainable)
                why = f" ({known[name].about})" if name in known else ""
                raise ConfigError(f"training supports {kind} features {usable}, got '{name}'{why}")
        for name in ("batch_size", "epochs", "passes_per_epoch", "num_frames", "eval_batch_size", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.diversity_on not in DIVERSITY_ON:
            raise ConfigError(f"--diversity-on must be one of {', '.join(DIVERSITY_ON)}, got '{self.diversity_on}'")
        if self.batch_size < 2:
            raise ConfigError("batch_size must be >= 2: the ranking loss needs negatives in the batch")
        if self.lr <= 0 or self.grad_clip < 0 or not 0 < self.lr_factor < 1:
            raise ConfigError("lr must be > 0, grad_clip >= 0 and 0 < lr_factor < 1")
        try:  # the model's own checks, before any feature is computed
            self.model_config()
        except WeightsError as exc:
            raise ConfigError(f"invalid model settings: {exc}") from exc

    def model_config(self, frame_dim: int | None = None, word_dim: int | None = None) -> PVSEConfig:
        """The PVSEConfig these settings train (feature sizes from the extractors' specs unless given)."""
        return PVSEConfig(**{name: getattr(self, name) for name in MODEL_FIELDS}, frame_dim=frame_dim,
                          word_dim=word_dim)

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class TrainResult:
    out_dir: Path
    best_dir: Path
    last_dir: Path
    best_epoch: int
    best_val: RetrievalMetrics | None  # None when trained on train+val (no validation)
    epochs_done: int
    history: list[dict]
    failed_clips: dict[str, str]  # clips left out because they could not be decoded
    model_config: PVSEConfig
    seconds_per_epoch: float | None  # mean over the epochs run by this call


def _write_json_atomic(path: Path, data) -> None:
    with atomic_file(path, "w") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")


def _save_state(path: Path, state: dict) -> None:
    with atomic_file(path) as fh:
        torch.save(state, fh)


def read_log(out_dir: str | Path) -> list[dict]:
    """The per-epoch records of a run directory's log.jsonl."""
    path = Path(out_dir) / LOG_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _run_signature(config: TrainConfig, dataset: PairDataset) -> dict:
    sig = {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_CHANGES}
    sig["dataset"] = {name: split.summary() for name, split in dataset.splits.items()}
    return json.loads(json.dumps(sig, default=str))


def _signature_diff(old: dict, new: dict) -> list[str]:
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63)


def _load_resume_state(state_path: Path, signature: dict, device: torch.device) -> dict:
    """The interrupted run's state, checked against this run's settings before any feature is loaded."""
    try:
        state = torch.load(state_path, map_location=device, weights_only=True)
    except Exception as exc:
        raise PVSEError(f"{state_path} is damaged ({exc}); remove it to start the run again") from exc
    if state.get("version") != STATE_VERSION:
        raise PVSEError(f"{state_path} was written by another version of pvse-gif; cannot resume it")
    diff = _signature_diff(state["signature"], signature)
    if diff:
        raise PVSEError(f"cannot resume {state_path.parent}: settings differ from the interrupted run "
                        f"({'; '.join(diff[:4])})")
    return state


@dataclass
class _Batcher:
    """Tensors of one training epoch's batches, from the in-memory feature banks."""

    frames: FrameBank
    texts: TextBank
    clip_rows: torch.Tensor
    device: torch.device

    def __call__(self, clips: list[int], text_ids: list[int]):
        video = self.frames.features[self.clip_rows[clips]].to(self.device).float()
        words, lengths = self.texts.batch(text_ids, self.device)
        return video, words, lengths


def _train_epoch(model: PVSE, optimizer: torch.optim.Optimizer, batches: list[tuple[list[int], list[int]]],
                 batcher: _Batcher, config: TrainConfig, desc: str) -> dict[str, float]:
    """One pass over `batches`: eq. 5 loss, backward, clipped AMSGrad step. Returns the mean loss terms."""
    model.train()
    sums = {"loss": 0.0, "mil": 0.0, "div": 0.0, "mmd": 0.0}
    for clips, text_ids in tqdm(batches, desc=desc, unit="batch", leave=False, disable=not config.progress,
                                dynamic_ncols=True):
        video, words, lengths = batcher(clips, text_ids)
        terms = pvse_loss(model.encode_video(video), model.encode_text(words, lengths), margin=config.margin,
                          lambda_div=config.lambda_div, lambda_mmd=config.lambda_mmd,
                          diversity_on=config.diversity_on)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        if config.grad_clip > 0:
            clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        for key, value in (("loss", terms.total), ("mil", terms.mil), ("div", terms.diversity), ("mmd", terms.mmd)):
            sums[key] += float(value.detach())
    return {k: v / max(len(batches), 1) for k, v in sums.items()}


def train(config: TrainConfig, dataset: PairDataset | None = None) -> TrainResult:
    """Train (or resume) a PVSE model as configured; returns where the checkpoints are and how they scored."""
    config.check()
    if config.threads is None:
        return _train(config, dataset)
    before = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(config, dataset)
    finally:
        torch.set_num_threads(before)


def _train(config: TrainConfig, dataset: PairDataset | None) -> TrainResult:
    return Trainer(config, dataset).run()


class Trainer:
    """One training run: `setup` (data, feature banks, model, optimiser), `resume` (an interrupted run's state, or
    a fresh log), `epoch` (eq. 5 steps, validation, model selection) and `save` (checkpoints, log line, state).

    A resumed run is bit-identical to an uninterrupted one: every epoch reseeds from (seed, epoch), and the model,
    optimiser and scheduler states travel in train_state.pt.
    """

    def __init__(self, config: TrainConfig, dataset: PairDataset | None = None) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.out = Path(config.out)
        self.state_path = self.out / STATE_FILE
        if self.state_path.exists() and not config.resume:
            raise PVSEError(f"{self.out} already holds a training run: pass --resume to continue it, or pick another "
                            "--out")
        self.dataset = dataset
        self.done, self.best_epoch, self.best_val = 0, 0, None
        self.epoch_seconds: list[float] = []

    def run(self) -> TrainResult:
        """setup, resume, then every remaining epoch (each saved as it ends)."""
        self.setup()
        self.resume()
        config = self.config
        bar = tqdm(range(self.done + 1, config.epochs + 1), initial=self.done, total=config.epochs, desc="epochs",
                   unit="epoch", disable=not config.progress, dynamic_ncols=True)
        for epoch in bar:
            losses, val = self.epoch(epoch)
            bar.set_postfix(loss=f"{losses['loss']:.3f}", rsum=f"{val.rsum:.1f}" if val else "-", best=self.best_epoch)
        bar.close()
        out = self.out
        return TrainResult(out_dir=out, best_dir=out / "best", last_dir=out / "last", best_epoch=self.best_epoch,
                           best_val=self.best_val, epochs_done=self.done, history=read_log(out),
                           failed_clips=self.failed, model_config=self.model_config,
                           seconds_per_epoch=(sum(self.epoch_seconds) / len(self.epoch_seconds)
                                              if self.epoch_seconds else None))

    def setup(self) -> None:
        """Splits, the interrupted run's state (checked before any feature is loaded), feature banks, model."""
        config, device = self.config, self.device
        if self.dataset is None:
            self.dataset = load_dataset(config.data, clips_dir=config.clips_dir, split_rule=config.split_rule,
                                        split_seed=config.split_seed, extra_pairs=config.extra_pairs)
        dataset = self.dataset
        train_split = dataset.split(config.train_on)
        val_split = dataset.split("val") if config.train_on == "train" else None
        if val_split is not None and not val_split.pairs:
            raise PVSEError("the validation split is empty: model selection needs it (or use --train-on train+val)")
        if not train_split.pairs:
            raise PVSEError(f"the '{config.train_on}' split has no clip-text pairs")
        self.signature = _run_signature(config, dataset)
        self.state = (_load_resume_state(self.state_path, self.signature, device)
                      if config.resume and self.state_path.exists() else None)

        all_clips = [c.path for c in train_split.clips] + ([c.path for c in val_split.clips] if val_split else [])
        frames = load_frame_bank(all_clips, config.frame_features, config.num_frames, config.feature_cache,
                                 device=device, progress=config.progress)
        all_texts = train_split.unique_texts() + (val_split.unique_texts() if val_split else [])
        texts = load_text_bank(all_texts, config.word_features, config.feature_cache, progress=config.progress)
        train_split = usable_split(train_split, frames).without_texts(texts.uninformative)
        self.val_split = usable_split(val_split, frames) if val_split else None
        if train_split.num_clips < 2:
            raise PVSEError("training needs at least 2 usable clips")
        self.frames, self.texts = frames, texts
        self.failed = {str(k): v for k, v in frames.failed.items()}

        self.model_config = config.model_config(frame_dim=frames.dim, word_dim=texts.dim)
        torch.manual_seed(config.seed)
        self.model = PVSE(self.model_config).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, amsgrad=True)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, mode="max",
                                                                    factor=config.lr_factor,
                                                                    patience=config.lr_patience, min_lr=1e-10)
        self.text_ids = [[texts.index[t] for t in ts] for ts in train_split.texts_by_clip()]
        self.groups = [c.group for c in train_split.clips]
        self.batcher = _Batcher(frames, texts,
                                frames.rows_of([c.path for c in train_split.clips]).to(frames.features.device), device)

    def resume(self) -> None:
        """Load the interrupted run's state (its log cut to the finished epochs), else start a fresh log; then
        write the run's settings and splits."""
        out, state = self.out, self.state
        out.mkdir(parents=True, exist_ok=True)
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.done, self.best_epoch = int(state["epoch"]), int(state["best_epoch"])
            self.best_val = RetrievalMetrics.from_dict(state["best_val"]) if state["best_val"] else None
            history = [r for r in read_log(out) if r["epoch"] <= self.done]  # drop lines of an unfinished epoch
            (out / LOG_FILE).write_text("".join(json.dumps(r) + "\n" for r in history))
        else:
            (out / LOG_FILE).write_text("")
        _write_json_atomic(out / CONFIG_FILE, {"train": self.config.to_dict(), "model": self.model_config.to_dict(),
                                               "data": self.dataset.describe(), "failed_clips": self.failed})
        _write_json_atomic(out / SPLIT_FILE, self.dataset.describe(list_members=True))

    def epoch(self, epoch: int) -> tuple[dict[str, float], RetrievalMetrics | None]:
        """Train epoch `epoch` (1-based), validate, keep the best, save; returns its mean losses and metrics."""
        config = self.config
        started = time.perf_counter()
        torch.manual_seed(_epoch_seed(config.seed, epoch))  # dropout, if any
        batches = [b for b in epoch_batches(self.text_ids, self.groups, config.batch_size, config.seed, epoch,
                                            config.passes_per_epoch) if len(b[0]) >= 2]
        lr = self.optimizer.param_groups[0]["lr"]
        losses = _train_epoch(self.model, self.optimizer, batches, self.batcher, config, f"epoch {epoch}")
        train_seconds = time.perf_counter() - started
        val = (split_metrics(self.model, self.val_split, self.frames, self.texts, self.device, config.eval_batch_size)
               if self.val_split else None)
        if val is not None:
            self.scheduler.step(val.rsum)
        improved = val is None or self.best_val is None or val.rsum > self.best_val.rsum
        if improved:
            self.best_epoch, self.best_val = epoch, val
        self.save(epoch, val, improved, {"lr": lr, "batches": len(batches), **losses}, started, train_seconds)
        return losses, val

    def save(self, epoch: int, val: RetrievalMetrics | None, improved: bool, record: dict, started: float,
             train_seconds: float) -> None:
        """Checkpoints (best when improved, last always), the epoch's log line, then the resumable state."""
        config, out = self.config, self.out
        meta = {"epoch": epoch, "val_rsum": f"{val.rsum:.4f}" if val else "", "trained_on": config.train_on,
                "seed": config.seed}
        if improved:
            save_checkpoint(self.model, out / "best", metadata=meta)
        save_checkpoint(self.model, out / "last", metadata=meta)
        seconds = time.perf_counter() - started
        self.epoch_seconds.append(seconds)
        record = {"epoch": epoch, **record,
                  "val": val.to_dict() if val else None, "val_rsum": val.rsum if val else None,
                  "best_epoch": self.best_epoch, "train_seconds": round(train_seconds, 3),
                  "seconds": round(seconds, 3)}
        with open(out / LOG_FILE, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        _save_state(self.state_path, {"version": STATE_VERSION, "signature": self.signature, "epoch": epoch,
                                      "best_epoch": self.best_epoch,
                                      "best_val": self.best_val.to_dict() if self.best_val else None,
                                      "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                                      "scheduler": self.scheduler.state_dict()})
        self.done = epoch
