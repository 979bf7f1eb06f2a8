"""``matchmaker bench marks --sample``: the marks benchmark, reproducibly, on the project's sample data.

No adviser has marked the sample, so its marks are derived from the hand judgements ``bench sample``
uses (``data/relevance.jsonl``: the suppliers an adviser would invite for each need) and labelled as
such wherever they appear (the adviser is "sample judgements (derived, not an adviser)"):

- each need's shortlist is first served and recorded in its audit trail, as the need page does, by
  the dense-only ranking (the matcher's semantic part alone), standing in for an earlier matcher so
  that the side by side compares two rankings rather than one with itself;
- every hand-judged relevant supplier is then marked invited;
- every other supplier of that served shortlist is marked not relevant (shown, and not one the
  judgements would invite).

Today's ranking is the full matcher's. The figures exercise the benchmark and show how to read it;
they say nothing about real advisers, whose marks are what ``matchmaker bench marks`` is for.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.marks import run
from bench.sample_data import load_sample_service, relevance_judgements
from indexer.embedder import Embedder
from matcher.fusion import FusionWeights
from service import audit, feedback, shortlists
from service.access import Principal
from service.container import Services
from store.models import FeedbackCreate

SAMPLE_ADVISER = Principal(role="adviser", prefix="sample", label="sample judgements (derived, not an adviser)")
SERVED_WEIGHTS = FusionWeights(dense=1.0, lexical=0.0, cpv=0.0, geography=0.0)
SERVED_BY = "dense only, standing in for an earlier matcher"


def derive_marks(services: Services, judgements: dict[str, set[str]], k: int) -> None:
    """Serve each judged need's shortlist (recorded) and mark it from the judgements, as described above."""
    for need_id, relevant in judgements.items():
        _need, served = shortlists.suppliers_for_need(
            services, need_id, k=k, weights=SERVED_WEIGHTS, suggest_missing_cpv=False, explain=False
        )
        details = audit.shortlist_details({}, k, 0.0, served) | {"ranked_by": SERVED_BY}
        audit.record(services.engine, need_id, "shortlist", SAMPLE_ADVISER, details)
        marks = [(s, "invited") for s in sorted(relevant)] + [
            (r.row.id, "not_relevant") for r in served if r.row.id not in relevant
        ]
        for supplier_id, mark in marks:
            payload = FeedbackCreate.model_validate({"supplier_id": supplier_id, "mark": mark})
            feedback.mark_supplier(services, need_id, payload, SAMPLE_ADVISER)


def run_sample(embedder: Embedder, out: Path, *, k: int = 10) -> str:
    with tempfile.TemporaryDirectory() as home:
        services = load_sample_service(Path(home), embedder, progress=True)
        try:
            derive_marks(services, relevance_judgements(), k)
            about = (
                f"Model: {embedder.name}. Sample data (data/suppliers.jsonl, data/needs.jsonl) with marks DERIVED FROM "
                "THE SAMPLE'S HAND JUDGEMENTS (data/relevance.jsonl), not advisers' marks: every judged-relevant "
                f"supplier marked invited, every other supplier of the need's served shortlist (ranked {SERVED_BY}) "
                "marked not relevant (bench/marks_sample.py). "
            )
            return run(services, out, k=k, title="Shortlists judged by marks (sample: derived from hand judgements)", about=about)
        finally:
            services.engine.dispose()
