"""`pvse convert`: turn an official PVSE checkpoint (github.com/yalesong/pvse) into a pvse-gif checkpoint."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="OFFICIAL.pth", help="official checkpoint (a state dict, e.g. tgif_pvse.pth)")
    parser.add_argument("--vocab", required=True, metavar="VOCAB.pkl",
                        help="the official vocabulary of the same dataset (vocab/<data>_vocab.pkl, or a JSON word list)")
    parser.add_argument("--out", required=True, metavar="DIR", help="checkpoint directory to write (replaced atomically)")
    parser.add_argument("--legacy", dest="legacy", action="store_true", default=None,
                        help="global feature = last GRU output, as the published models were trained (default "
                             "unless the file's stored training options say otherwise)")
    parser.add_argument("--no-legacy", dest="legacy", action="store_false",
                        help="global feature = final hidden states of both GRU directions (models trained without --legacy)")
    parser.add_argument("--num-frames", type=int, default=None, metavar="T",
                        help="frames sampled per clip (official evaluation: 4 for MRW, 8 for TGIF; default: the "
                             "file's max_video_length, else 8)")
    parser.add_argument("--num-embeds", type=int, default=None, metavar="K",
                        help="expected number of embeddings K (checked against the weights; inferred when omitted)")


def run(args: argparse.Namespace) -> int:
    from ..checkpoints import load_checkpoint
    from ..convert_official import convert_official_checkpoint

    out = convert_official_checkpoint(args.checkpoint, args.vocab, args.out, legacy=args.legacy,
                                      num_frames=args.num_frames, num_embeds=args.num_embeds)
    config = load_checkpoint(out, device="cpu").config
    print(f"wrote {out}: K={config.num_embeds}, H={config.embed_dim}, vocabulary {config.vocab_size} words, "
          f"{config.num_frames} frames per clip, legacy_global={config.legacy_global}")
    return 0
