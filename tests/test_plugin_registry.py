"""The plug-in table every pluggable part uses (frame CNNs, word features, text readers, index backends)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from pvse.errors import WeightsError
from pvse.registry import Catalog, Registry


@dataclass(frozen=True)
class Part:
    name: str
    made_by: str = "here"


def test_listing_is_sorted_and_lookups_name_the_known_ones():
    table = Registry("toy part", origin=lambda part: part.made_by)
    catalog = Catalog(table, ("json",), "pvse_gif.no-such-group")  # a built-in module to import: any importable one
    table.register(Part("zebra"))
    table.register(Part("ant"))
    assert list(catalog.all()) == ["ant", "zebra"]  # never registration order
    assert catalog.get("ant") == Part("ant")
    with pytest.raises(WeightsError, match=r"^unknown toy part 'bee'; known: ant, zebra$"):
        catalog.get("bee", WeightsError)
    table.unregister("ant")
    assert list(catalog.all()) == ["zebra"]


def test_a_name_taken_by_another_module_is_refused_but_the_same_one_again_is_not():
    table = Registry("toy part", origin=lambda part: part.made_by)
    table.register(Part("x", "module-a"))
    table.register(Part("x", "module-a"))  # a reloaded module registers again
    with pytest.raises(ValueError, match="toy part 'x' is already registered by module-a"):
        table.register(Part("x", "module-b"))


def test_the_built_in_modules_are_imported_when_first_asked():
    from pvse.index.backends import all_backends
    from pvse.reading.registry import frame_text_readers
    assert {"faiss", "milvus"} <= set(all_backends())
    assert "ppocr-v4" in frame_text_readers()
