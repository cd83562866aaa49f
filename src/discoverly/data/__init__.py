"""Typed tables (interactions, catalogues), vocabularies, readers and the public data sets."""

from discoverly.data.catalog import Catalog, read_catalog
from discoverly.data.datasets import DATASETS, Dataset, load_dataset
from discoverly.data.interactions import Interactions, to_epoch_seconds
from discoverly.data.quality import DataProfile, profile
from discoverly.data.read import read_interactions
from discoverly.data.synthetic import synthetic_store
from discoverly.data.vocabulary import Vocabulary

__all__ = ["Catalog", "Interactions", "Vocabulary", "read_catalog", "read_interactions", "to_epoch_seconds",
           "DATASETS", "Dataset", "DataProfile", "load_dataset", "profile", "synthetic_store"]
