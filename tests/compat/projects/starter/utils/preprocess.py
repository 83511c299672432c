"""Transformers used inside the preprocessing pipeline (pickled with it)."""

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class NADropper(TransformerMixin, BaseEstimator):
    """Drops rows with missing values."""

    def fit(self, *args, **kwargs):
        self.fitted_ = True
        return self

    def transform(self, X: pd.DataFrame, y=None):
        return X.dropna()


class ColumnsDropper(TransformerMixin, BaseEstimator):
    """Drops the given columns."""

    def __init__(self, columns):
        self.columns = columns

    def fit(self, *args, **kwargs):
        self.fitted_ = True
        return self

    def transform(self, X: pd.DataFrame, y=None):
        return X.drop(columns=self.columns)


class DataFrameCaster(TransformerMixin, BaseEstimator):
    """Turns an array back into a data frame with the given column names."""

    def __init__(self, columns):
        self.columns = columns

    def fit(self, *args, **kwargs):
        self.fitted_ = True
        return self

    def transform(self, X, y=None):
        return pd.DataFrame(X, columns=self.columns)
