"""Knowledge graphs of a literature (or a catalogue): build, store, rank, and similar items by
fusing text and knowledge-graph embeddings.

    papers = load_aan()                                    # or read_papers("papers.jsonl"), load_cord19(...)
    graph, _ = build_graph_folder(papers, "aan-graph")      # concepts, topics, SQLite store
    engine = fit_similar("aan-graph")                       # ComplEx + MiniLM over citations, fused, saved
    engine.similar("P02-1040", k=10)
    GraphQuery(GraphStore("aan-graph/graph.sqlite")).top_cited(["machine translation", "alignment"])

Heavy dependencies (torch, scikit-learn, faiss, sentence-transformers, PyKEEN) load on first use.
"""

from discoverly.graph.aan import load_aan
from discoverly.graph.build import GraphBuilder, KnowledgeGraph, build_paper_graph
from discoverly.graph.concepts import ConceptExtractor
from discoverly.graph.cord19 import load_cord19
from discoverly.graph.evaluation import (
    CitationSplit,
    ProtocolResult,
    ProxyResult,
    evaluate_similar,
    proxy_relevance,
    run_protocol,
    split_citations,
)
from discoverly.graph.export import export_graph
from discoverly.graph.kge import KGE_MODELS, KGEmbedding, KGETrainer, LinkMetrics, rank_triples
from discoverly.graph.papers import Papers, read_papers
from discoverly.graph.products import product_graph, similar_products
from discoverly.graph.query import GraphQuery
from discoverly.graph.similar import SimilarItems, fuse, paper_text_vectors
from discoverly.graph.store import GraphStore, write_store
from discoverly.graph.topics import TopicModel
from discoverly.graph.workspace import GraphFolder, build_graph_folder, fit_similar, train_embedding

__all__ = [
    "Papers", "read_papers", "load_aan", "load_cord19",
    "ConceptExtractor", "TopicModel",
    "KnowledgeGraph", "GraphBuilder", "build_paper_graph", "GraphStore", "write_store", "GraphQuery", "export_graph",
    "KGETrainer", "KGEmbedding", "KGE_MODELS", "LinkMetrics", "rank_triples", "train_embedding",
    "SimilarItems", "fuse", "paper_text_vectors",
    "CitationSplit", "ProxyResult", "ProtocolResult", "split_citations", "proxy_relevance", "evaluate_similar",
    "run_protocol",
    "GraphFolder", "build_graph_folder", "fit_similar",
    "product_graph", "similar_products",
]
