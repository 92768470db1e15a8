"""A BERT encoder's forward pass in plain torch functions, from a config.json and model.safetensors.

The same operations, in the same order and on the same shapes, as `transformers.BertModel` (post-LayerNorm
layers, erf GELU, scaled-dot-product attention with a boolean padding mask, none when nothing is padded), so the
last hidden states are those of `AutoModel.from_pretrained(path)` (checked in the tests), without importing
transformers (several seconds: it pulls torch._dynamo, scipy and more). Inference only: no dropout, no pooler.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import WeightsError


class BertEncoder:
    """input ids (B, L) + attention mask (B, L) -> last hidden state (B, L, hidden_size), frozen."""

    def __init__(self, directory: str | Path, device: str | torch.device = "cpu") -> None:
        from safetensors.torch import load_file

        directory = Path(directory)
        try:
            config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
            weights = load_file(str(directory / "model.safetensors"), device=str(torch.device(device)))
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{directory}: cannot load the BERT weights ({exc})") from exc
        if config.get("hidden_act", "gelu") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise WeightsError(f"{directory}: only BERT with gelu and absolute positions is supported")
        self.hidden_size = int(config["hidden_size"])
        self.num_heads = int(config["num_attention_heads"])
        self.num_layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_positions = int(config["max_position_embeddings"])
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self.w = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
        missing = [k for k in self._required() if k not in self.w]
        if missing:
            raise WeightsError(f"{directory}: model.safetensors lacks {missing[0]} (and {len(missing) - 1} more)")

    def _required(self) -> list[str]:
        names = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                 "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"]
        for i in range(self.num_layers):
            names += [f"encoder.layer.{i}.{part}.{p}" for part in (
                "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")
                for p in ("weight", "bias")]
        return names

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, (self.hidden_size,), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    @torch.inference_mode()
    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        batch, length = input_ids.shape
        if length > self.max_positions:
            raise ValueError(f"{length} tokens: this model reads at most {self.max_positions}")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        positions = torch.arange(length, device=input_ids.device)[None, :]
        x = F.embedding(input_ids, self.w["embeddings.word_embeddings.weight"])
        x = x + F.embedding(token_type_ids, self.w["embeddings.token_type_embeddings.weight"])
        x = x + F.embedding(positions, self.w["embeddings.position_embeddings.weight"])
        x = self._norm(x, "embeddings.LayerNorm")
        keep = attention_mask.bool()
        mask = None if bool(keep.all()) else keep[:, None, None, :].expand(batch, 1, length, length)
        head_size = self.hidden_size // self.num_heads
        shape = (batch, length, -1, head_size)
        for i in range(self.num_layers):
            layer = f"encoder.layer.{i}"
            q, k, v = (self._linear(x, f"{layer}.attention.self.{n}").view(shape).transpose(1, 2)
                       for n in ("query", "key", "value"))
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=head_size ** -0.5)
            context = context.transpose(1, 2).contiguous().reshape(batch, length, -1).contiguous()
            x = self._norm(self._linear(context, f"{layer}.attention.output.dense") + x,
                           f"{layer}.attention.output.LayerNorm")
            inner = F.gelu(self._linear(x, f"{layer}.intermediate.dense"))
            x = self._norm(self._linear(inner, f"{layer}.output.dense") + x, f"{layer}.output.LayerNorm")
        return x
