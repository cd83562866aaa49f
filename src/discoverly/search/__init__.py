"""Product search: query understanding, lexical + dense retrieval, learning-to-rank, personalisation.

::

    from discoverly.search import SearchEngine, IndexConfig
    engine = SearchEngine.build(catalog, interactions, index_config=IndexConfig(weights={"title": 2.0}))
    engine.fit_ranker(query_log, interactions, as_of="2017-09-01")
    engine.refresh(interactions)
    engine.search("whole milk 1 gal", user=1234, k=10).to_polars()

Heavy libraries (bm25s, faiss, LightGBM, sentence-transformers) load only when used.
"""

from discoverly.search.attributes import AttributeExtractor, QueryAttributes, Size
from discoverly.search.classify import QueryClassifier
from discoverly.search.dense import DenseRetriever, EmbeddingCache
from discoverly.search.engine import EngineConfig, SearchEngine, SearchResult
from discoverly.search.esci import load_esci
from discoverly.search.hybrid import reciprocal_rank_fusion
from discoverly.search.index import CatalogIndex, IndexConfig
from discoverly.search.judged import JudgedDataset, evaluate_judged
from discoverly.search.lexical import LexicalRetriever
from discoverly.search.normalize import TextNormalizer
from discoverly.search.personalize import CustomerProfiles
from discoverly.search.ranker import LambdaRanker, RankerConfig
from discoverly.search.spelling import SpellingCorrector
from discoverly.search.wands import load_wands, read_wands_queries

__all__ = [
    "SearchEngine", "EngineConfig", "SearchResult", "CatalogIndex", "IndexConfig",
    "LexicalRetriever", "DenseRetriever", "EmbeddingCache", "reciprocal_rank_fusion",
    "TextNormalizer", "SpellingCorrector", "QueryClassifier", "AttributeExtractor", "QueryAttributes", "Size",
    "LambdaRanker", "RankerConfig", "CustomerProfiles",
    "JudgedDataset", "evaluate_judged", "load_esci", "load_wands", "read_wands_queries",
]
