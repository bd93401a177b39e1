"""The data layer: interaction logs and the users x items matrix every model fits.

:class:`Interactions` (``interactions.py``) is the matrix with its raw-id maps, and keeps the
:class:`Events` (``events.py``) it was aggregated from; the datasets live in
:mod:`recforge.datasets`.
"""

from .events import Events
from .features import FeatureEncoder, Features, features
from .interactions import AGGREGATES, DROP_REASONS, Interactions

__all__ = ["AGGREGATES", "DROP_REASONS", "Events", "FeatureEncoder", "Features", "Interactions", "features"]
