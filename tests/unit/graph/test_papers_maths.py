"""Citation edges of a papers table against a plain-Python reading of the rules in docs/graph.md: references
to papers outside the file, self-citations and repeated references are ignored."""

from __future__ import annotations

import numpy as np
import pytest

from discoverly.graph.papers import Papers, _year


@pytest.mark.parametrize("seed", range(5))
def test_citations_are_the_distinct_references_to_other_papers_of_the_file(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = [f"p{i}" for i in range(15)]
    records = []
    for i, pid in enumerate(ids):
        refs = [f"p{j}" for j in rng.integers(0, 15, size=int(rng.integers(0, 6)))]  # repeats and itself
        refs += [f"doi:{j}" for j in rng.integers(0, 3, size=int(rng.integers(0, 2)))]  # outside the file
        records.append({"id": pid, "title": f"paper {i}", "references": refs})
    src, dst = Papers.from_records(records).citations()
    want = sorted({(i, ids.index(r)) for i, rec in enumerate(records) for r in rec["references"]
                   if r in ids and r != rec["id"]})
    assert sorted(zip(src.tolist(), dst.tolist(), strict=True)) == want
    assert src.dtype == dst.dtype == np.int64


@pytest.mark.parametrize(("value", "year"), [
    (2019, 2019), ("2019", 2019), ("2019a", 2019), ("2019-05-03", 2019), (2019.0, 2019), ("  1998 ", 1998),
    ("05/03/2019", 2019), (None, None), ("", None), ("n.d.", None), ("N.D.", None), ("nd", None), ("no date", None),
    (float("nan"), None), ("19", -1), ("in press", -1), (12345, -1), ("20190", -1)])
def test_the_year_is_the_first_four_digit_number(value: object, year: int | None) -> None:
    assert _year(value) == year
