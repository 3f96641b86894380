"""The two models and their inputs: the HMM regime (with its forward filter) and the XGBoost signal."""
