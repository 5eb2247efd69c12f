"""Signatures, log-signatures, response features of input paths and the scikit-learn style
estimators of readout-only training.
"""
from symresp.features.signatures import signature, sig_dim
from symresp.features.logsignatures import logsignature, logsig_dim, lyndon_words
from symresp.features.response_features import response_feature, ResponseFeature
from symresp.features.estimators import ResponseFeatureClassifier, ResponseFeatureRegressor, gram_matrix

__all__ = ["signature", "sig_dim", "logsignature", "logsig_dim", "lyndon_words", "response_feature", "ResponseFeature", "ResponseFeatureClassifier", "ResponseFeatureRegressor", "gram_matrix"]
