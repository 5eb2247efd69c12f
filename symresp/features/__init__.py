"""Signatures, log-signatures, response features of input paths and the scikit-learn style
estimators of readout-only training.
"""

from symresp.features.estimators import (
    ResponseFeatureClassifier,
    ResponseFeatureRegressor,
    ResponseFeatures,
)
from symresp.features.feature_matrix import gram_matrix, response_feature_matrix
from symresp.features.logsignatures import logsig_dim, logsignature, lyndon_words
from symresp.features.model_selection import (
    ResponseFeatureClassifierCV,
    ResponseFeatureRegressorCV,
)
from symresp.features.network_kernel import NetworkFeatures, NetworkKernelClassifier, network_gram
from symresp.features.response_features import ResponseFeature, response_feature
from symresp.features.signatures import sig_dim, signature
from symresp.features.time_pooling import running_response

__all__ = [
    "signature",
    "sig_dim",
    "logsignature",
    "logsig_dim",
    "lyndon_words",
    "response_feature",
    "running_response",
    "ResponseFeature",
    "ResponseFeatureClassifier",
    "ResponseFeatureRegressor",
    "ResponseFeatures",
    "gram_matrix",
    "response_feature_matrix",
    "ResponseFeatureClassifierCV",
    "ResponseFeatureRegressorCV",
    "NetworkFeatures",
    "NetworkKernelClassifier",
    "network_gram",
]
