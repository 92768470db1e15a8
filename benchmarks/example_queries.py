"""The README's ten "my reaction when ..." queries with the bundled model's top three, from a real run.

    python -m benchmarks.example_queries
"""
from __future__ import annotations

from pvse.search import Searcher

QUERIES = [
    ("work", "my reaction when my manager schedules a meeting at 5 pm on friday"),
    ("work", "mrw I finally get the promotion"),
    ("friends", "when my best friend remembers my birthday"),
    ("friends", "mfw my friends leave me on read"),
    ("food", "my reaction when the waiter brings the wrong order"),
    ("food", "when there is free cake in the kitchen"),
    ("weather", "mrw it is freezing and the bus is late"),
    ("sport", "my reaction when we lose the final in penalties"),
    ("code", "my reaction when my code compiles on the first try"),
    ("code", "mfw the tests pass but I do not know why"),
]


def main() -> int:
    searcher = Searcher.load()
    print("| topic | query | top 3 (score) |\n|---|---|---|")
    for topic, query in QUERIES:
        hits = searcher.search(query, top_k=3).hits
        top = ", ".join(f"{h.name or h.path} ({h.score:.2f})" for h in hits)
        print(f"| {topic} | {query} | {top} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
