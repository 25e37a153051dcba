"""The committed benchmark results and their page (docs/benchmarks.md)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_committed_chart_is_shown_in_the_docs():
    """docs/benchmarks.md says it shows every chart in plots/ (a source
    distribution has none: nothing to show)."""
    plots = os.path.join(ROOT, "plots")
    charts = sorted(os.listdir(plots)) if os.path.isdir(plots) else []
    with open(os.path.join(ROOT, "docs", "benchmarks.md")) as f:
        page = f.read()
    missing = [c for c in charts if c.endswith(".png") and f"(../plots/{c})" not in page]
    assert missing == [], "add them to docs/benchmarks.md, All charts"
