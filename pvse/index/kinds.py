"""The index kinds: which vector indexes a gallery can use, their parameters, defaults and whether search is exact.

Engine-neutral facts: the faiss folder backend builds every row with faiss's `index_factory`; other backends
(Milvus) say which rows they offer and how. `pvse index --index-kind` / `--index-param` and their validation
come from this table.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import GalleryIndexError

if TYPE_CHECKING:
    import faiss  # a knob's setter takes a built faiss index


@dataclass(frozen=True)
class IndexParam:
    """One faiss parameter: a positive int, its default at a given size, and when it acts.

    when: "build" (shapes the index), "search" (a knob set on the loaded index before each search) or
    "rescore" (how many candidates pvse re-scores exactly). default(num_vectors, dim, params so far) -> value.
    """

    name: str
    help: str
    default: Callable[[int, int, dict[str, Any]], int]
    when: str = "build"
    apply: Callable[[faiss.Index, int], None] | None = None  # sets the knob on a built index


@dataclass(frozen=True)
class IndexKind:
    """A faiss index kind: its index_factory string (formatted with its params), parameters and exactness."""

    name: str
    factory: str
    params: tuple[IndexParam, ...]
    exact: bool
    about: str

    def factory_string(self, params: dict[str, Any]) -> str:
        return self.factory.format(**params)


def _nlist(num_vectors: int, dim: int, params: dict[str, Any]) -> int:
    """~4 sqrt(N) inverted lists, with at least 39 training vectors per list (faiss warns below that)."""
    return max(int(min(4 * math.sqrt(max(num_vectors, 1)), max(num_vectors // 39, 1))), 1)


def _pq_m(num_vectors: int, dim: int, params: dict[str, Any]) -> int:
    """4-bit fast-scan PQ: H/8 sub-quantizers (H/8 bytes per vector) when they divide H evenly."""
    return next((m for m in (dim // 8, dim // 4, dim // 2, dim) if m >= 2 and m % 2 == 0 and dim % m == 0), dim)


def _set_nprobe(index: faiss.Index, value: int) -> None:
    import faiss

    faiss.extract_index_ivf(index).nprobe = value


def _set_ef_search(index: faiss.Index, value: int) -> None:
    index.hnsw.efSearch = value


def _set_ef_construction(index: faiss.Index, value: int) -> None:
    index.hnsw.efConstruction = value


NLIST = IndexParam("nlist", "inverted lists, default ~4 sqrt(N) with >= 39 vectors each", _nlist)
NPROBE = IndexParam("nprobe", "lists visited per query, default nlist/8 but >= 32",
                    lambda n, d, p: min(p["nlist"], max(32, p["nlist"] // 8)), "search", _set_nprobe)
PQ_M = IndexParam("pq_m", "PQ sub-quantizers dividing H, default H/8", _pq_m)
HNSW_M = IndexParam("hnsw_m", "HNSW graph degree, default 32", lambda n, d, p: 32)
EF_CONSTRUCTION = IndexParam("ef_construction", "HNSW build beam, default 40", lambda n, d, p: 40, "build",
                             _set_ef_construction)
EF_SEARCH = IndexParam("ef_search", "HNSW search beam, default 128", lambda n, d, p: 128, "search", _set_ef_search)
CANDIDATES = IndexParam("candidates_per_head", "vectors per query head re-scored exactly, default 256",
                        lambda n, d, p: 256, "rescore")

_IVF = (NLIST, NPROBE)
_HNSW = (HNSW_M, EF_CONSTRUCTION, EF_SEARCH)
KINDS: dict[str, IndexKind] = {kind.name: kind for kind in (
    IndexKind("flat", "Flat", (), True, "exact, every vector compared, the default"),
    IndexKind("flat-fp16", "SQfp16", (CANDIDATES,), False, "every vector compared, stored as fp16"),
    IndexKind("ivf", "IVF{nlist},Flat", (*_IVF, CANDIDATES), False, "inverted lists, full vectors"),
    IndexKind("ivf-sq8", "IVF{nlist},SQ8", (*_IVF, CANDIDATES), False, "inverted lists, 8-bit vectors"),
    IndexKind("ivf-fp16", "IVF{nlist},SQfp16", (*_IVF, CANDIDATES), False, "inverted lists, fp16 vectors"),
    IndexKind("ivf-pq", "IVF{nlist},PQ{pq_m}x4fs", (*_IVF, PQ_M, CANDIDATES), False,
              "inverted lists, 4-bit fast-scan PQ, H/8 bytes per vector"),
    IndexKind("hnsw", "HNSW{hnsw_m}", (*_HNSW, CANDIDATES), False, "HNSW graph, full vectors"),
    IndexKind("hnsw-fp16", "HNSW{hnsw_m}_SQfp16", (*_HNSW, CANDIDATES), False, "HNSW graph, fp16 vectors"),
)}
INDEX_KINDS = tuple(KINDS)  # the built-in kinds' names
DEFAULT_KIND = "flat"


def index_kind(kind: str) -> IndexKind:
    """The entry of `kind`, or a GalleryIndexError naming the known ones."""
    if kind not in KINDS:
        raise GalleryIndexError(f"unknown index kind '{kind}'; choose one of {', '.join(KINDS)}")
    return KINDS[kind]


def default_params(kind: str, num_vectors: int, dim: int, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Faiss parameters for `kind` at this size: the `given` ones, the rest from each parameter's default (nlist ~
    4 sqrt(N) with >= 39 training points per list, nprobe = 1/8 of the lists but >= 32, ...)."""
    spec = index_kind(kind)
    given = dict(given or {})
    for key, value in given.items():  # every faiss parameter is a count
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise GalleryIndexError(f"index parameter {key}={value!r} must be a positive whole number "
                                    f"(e.g. {key}=64)")
    takes = [param.name for param in spec.params]
    unknown = sorted(set(given) - set(takes))
    if unknown:
        raise GalleryIndexError(f"index parameter(s) {', '.join(unknown)} do not apply to a '{kind}' index "
                                f"(it takes: {', '.join(takes) or 'none'})")
    params: dict[str, Any] = {}
    for param in spec.params:
        params[param.name] = given[param.name] if param.name in given else param.default(num_vectors, dim, params)
    return params


def factory_string(kind: str, params: dict[str, Any]) -> str:
    """The faiss index_factory description of `kind` with these parameters."""
    return index_kind(kind).factory.format(**params)
