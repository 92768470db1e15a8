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
    parser.add_argument("--dataset", choices=("mrw", "tgif", "other"), default=None,
                        help="the data the model was trained on, which sets how frames are sampled and prepared as the "
                             "official evaluation did (default: the file's stored --data_name, else its name: "
                             "mrw_pvse.pth -> mrw; else other)")
    parser.add_argument("--normalize", choices=("none", "imagenet"), default="none",
                        help="CNN input normalisation: none (default; the official video loader's Normalize was a no-op "
                             "under its pinned torchvision 0.3.0, so pixels stayed in [0, 1]) or imagenet (models trained "
                             "with torchvision 0.2.1, which normalised)")
    parser.add_argument("--num-frames", type=int, default=None, metavar="T",
                        help="frames sampled per clip (default: the file's max_video_length, else the official "
                             "evaluation's: 4 for MRW, 8 for TGIF and others)")
    parser.add_argument("--num-embeds", type=int, default=None, metavar="K",
                        help="expected number of embeddings K (checked against the weights; inferred when omitted)")


def run(args: argparse.Namespace) -> int:
    from ..checkpoints import load_checkpoint
    from ..convert_official import convert_official_checkpoint

    out = convert_official_checkpoint(args.checkpoint, args.vocab, args.out, legacy=args.legacy,
                                      num_frames=args.num_frames, num_embeds=args.num_embeds, dataset=args.dataset,
                                      normalize=args.normalize == "imagenet")
    config = load_checkpoint(out, device="cpu").config
    frames = config.frame_preprocessing()
    print(f"wrote {out}: K={config.num_embeds}, H={config.embed_dim}, vocabulary {config.vocab_size} words, "
          f"{config.num_frames} frames per clip, legacy_global={config.legacy_global}, "
          f"dataset {config.extra.get('official_dataset')} ({frames.sampling} frames"
          f"{f' of the clip at {frames.timeline_fps:g} fps' if frames.timeline_fps else ''}), "
          f"normalisation {'imagenet' if frames.normalize else 'none'}")
    return 0
