"""The public data sets: ``load_dataset(name)`` and the :data:`DATASETS` registry.

>>> from discoverly.data.datasets import DATASETS, load_dataset
>>> sorted(DATASETS)
['complete-journey', 'movielens-100k', 'online-retail', 'online-retail-2011', 'synthetic-store']
"""

from discoverly.data.datasets.dataset import Dataset, DatasetSpec, Download
from discoverly.data.datasets.download import download_file, fetch, file_checksum
from discoverly.data.datasets.locate import CACHE_DIR_ENV, DATA_DIR_ENV, default_cache_dir, locate
from discoverly.data.datasets.registry import DATASETS, dataset_spec, find_dataset, load_dataset

__all__ = [
    "CACHE_DIR_ENV",
    "DATASETS",
    "DATA_DIR_ENV",
    "Dataset",
    "DatasetSpec",
    "Download",
    "dataset_spec",
    "default_cache_dir",
    "download_file",
    "fetch",
    "file_checksum",
    "find_dataset",
    "load_dataset",
    "locate",
]
