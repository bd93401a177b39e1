from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__version__: str
METRICS: tuple[str, ...]

_Sparse = TypeVar("_Sparse", sp.csr_matrix, sp.csr_array)

Metric = Literal[
    "cosine",
    "dot",
    "jaccard",
    "pearson",
    "centered_cosine",
    "adjusted_cosine",
    "corated_cosine",
    "msd",
    "tfidf",
    "bm25",
]

def config() -> dict[str, Any]: ...
def as_csr(X: Any, name: str = "X") -> sp.csr_matrix | sp.csr_array: ...
def similarity(
    X: Any,
    k: int = 50,
    metric: Metric = "cosine",
    shrinkage: float = 0.0,
    min_support: int = 1,
    n_threads: int = 0,
    *,
    k1: float = 1.2,
    b: float = 0.75,
) -> sp.csr_matrix | sp.csr_array: ...
def topk(
    queries: npt.NDArray[np.floating],
    items: npt.NDArray[np.floating],
    k: int = 10,
    exclude: Any = None,
    allow: npt.ArrayLike | None = None,
    n_threads: int = 0,
    *,
    cosine: bool = False,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]: ...
def topk_sparse(
    history: Any,
    similarity: Any,
    k: int = 10,
    exclude: Any = None,
    allow: npt.ArrayLike | None = None,
    n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]: ...

from . import batch as batch
from . import campaign as campaign
from . import customers as customers
from . import data as data
from . import datasets as datasets
from . import evaluation as evaluation
from . import kernels as kernels
from . import models as models
from . import realtime as realtime
from .data import FeatureEncoder as FeatureEncoder
from .data import Features as Features
from .data import Interactions as Interactions
from .data import features as features
from .evaluation import Comparison as Comparison
from .evaluation import TuneResult as TuneResult
from .evaluation import compare as compare
from .evaluation import cross_validate as cross_validate
from .evaluation import evaluate as evaluate
from .evaluation import split as split
from .evaluation import tune as tune
from .kernels import metrics as metrics
from .models import ALS as ALS
from .models import BPR as BPR
from .models import EASE as EASE
from .models import BiasedMF as BiasedMF
from .models import ColdStart as ColdStart
from .models import ContentKNN as ContentKNN
from .models import ItemKNN as ItemKNN
from .models import KNNRegressor as KNNRegressor
from .models import NotFittedError as NotFittedError
from .models import Popularity as Popularity
from .models import Recommender as Recommender
from .models import RP3beta as RP3beta
from .models import SparseEASE as SparseEASE
from .models import UserKNN as UserKNN
from .models import load as load
