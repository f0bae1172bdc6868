"""Expression scoring: labels, feature blocks, the XGBoost model, appearance CNN, compounds."""
