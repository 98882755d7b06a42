"""The model catalog: providers, base models, deployments, prices, and its cache."""
