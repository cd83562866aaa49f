"""discoverly's batch jobs on Apache Spark (the ``spark`` extra: ``pip install 'discoverly[spark]'``
and a Java 17+ runtime — ``bash scripts/java.sh`` installs Debian's).

The jobs compute what the local path computes, with the same definitions: distinct customer–item
purchases, co-buyer counts, the cosine / naive / corrected relatedness (exact ``E_XY``), the ``N``
best related items per item, all-time and recent popularity. :func:`fit_spark` saves the result as
the artifact the local path writes, so ``BaseRecommender.load`` and ``discoverly serve`` take it
unchanged. Heavy customers: the ``max_history`` cap (as locally). Hot items: salting
(:mod:`~discoverly.engine.spark.salting`). PySpark is imported only inside the functions.

Modules: ``session`` (Java check, session settings), ``events`` (reading Parquet logs),
``vocabulary`` (ids -> indices), ``purchases`` (distinct pairs, history cap), ``cooccurrence``,
``scores`` (three scores, exact ``E_XY``), ``salting``, ``topn``, ``relatedness`` (the pipeline),
``popularity``, ``job`` (:func:`fit_spark`).
"""

from discoverly.engine.spark.job import SPARK_MODELS, SparkFit, fit_spark
from discoverly.engine.spark.relatedness import (
    CoBuyers,
    SparkRelatedness,
    co_buyers,
    collect_relatedness,
    related_pairs,
)
from discoverly.engine.spark.session import java_executable, java_version, spark_session

__all__ = ["SPARK_MODELS", "CoBuyers", "SparkFit", "SparkRelatedness", "co_buyers", "collect_relatedness",
           "fit_spark", "java_executable",
           "java_version", "related_pairs", "spark_session"]
