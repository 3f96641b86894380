"""Names the bot has imported from `autotrainer.model` since the first release (the README shows them).

The pair itself lives in `store/bundle.py` and the model inputs in `models/inputs.py`; this module keeps the
bot's imports working across the regroup.
"""

from autotrainer.models.inputs import design_matrix, feature_rows, missing_features
from autotrainer.store.bundle import ModelBundle, bundle_from_bytes, load_bundle

__all__ = ["ModelBundle", "bundle_from_bytes", "design_matrix", "feature_rows", "load_bundle", "missing_features"]
