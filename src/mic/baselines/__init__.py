"""Baselines (workflow/rules/baselines.smk): the forward LSTM classifier and nearest-prototype 1-NN."""
