"""`pvse push`: publish a checkpoint directory to a Hugging Face Hub model repo, with a model card."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint_dir", metavar="CHECKPOINT_DIR", help="directory made by `pvse train` or `pvse convert`")
    parser.add_argument("--repo", required=True, metavar="USER/NAME", help="Hub model repo to create or update")
    parser.add_argument("--private", action="store_true",
                        help="create the repo as private (an existing repo keeps its visibility)")
    parser.add_argument("--token", default=None, help="Hub token with write access (default: HF_TOKEN or `hf auth login`)")
    parser.add_argument("--license", default=None,
                        help="license for the model card (default: the checkpoint's metadata, else mit)")
    parser.add_argument("--message", default=None, help="commit message")


def run(args: argparse.Namespace) -> int:
    from ..publish import push_checkpoint

    url = push_checkpoint(args.checkpoint_dir, args.repo, private=args.private, token=args.token,
                          license=args.license, commit_message=args.message)
    print(f"published {args.checkpoint_dir} to {url}")
    print(f"load it with: pvse.load(\"{args.repo}\")")
    return 0
