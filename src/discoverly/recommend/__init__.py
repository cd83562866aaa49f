"""Recommenders: the protocol, the base class, the registry of models by name, and results."""

from discoverly.recommend.base import BaseRecommender, Recommender, recent_bestsellers
from discoverly.recommend.history import History
from discoverly.recommend.registry import create, model_names, register
from discoverly.recommend.results import Recommendations

load_model = BaseRecommender.load

__all__ = ["BaseRecommender", "History", "Recommendations", "Recommender", "create", "load_model",
           "model_names", "recent_bestsellers", "register"]
