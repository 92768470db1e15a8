"""One file hash and one state-dict check for every loader: same digests as before, one wording of mismatches."""
import hashlib

import torch

from pvse.integrity import content_hash, file_sha256, mismatch


def test_file_hash_is_sha256_of_prefix_and_bytes(tmp_path):
    data = bytes(range(256)) * 9000  # over one read chunk
    path = tmp_path / "clip.gif"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(path, prefix=b"{config}") == hashlib.sha256(b"{config}" + data).hexdigest()
    assert content_hash(path) == hashlib.sha256(data).hexdigest()[:32]


def test_mismatch_names_missing_unexpected_and_misshapen_tensors():
    expected = {"a": torch.zeros(2, 3), "b": torch.zeros(4), "c": (5,)}
    assert mismatch(expected, {"a": torch.ones(2, 3), "b": (4,), "c": torch.zeros(5)}) is None
    detail = mismatch(expected, {"a": torch.zeros(3, 2), "c": None, "x": torch.zeros(1)})
    assert detail == "missing: b; unexpected: x; wrong shape: a (3, 2), expected (2, 3), c None, expected (5,)"
    many = mismatch({f"k{i}": (1,) for i in range(6)}, {})
    assert many == "missing: k0, k1, k2, k3 ... (6 in all)"
