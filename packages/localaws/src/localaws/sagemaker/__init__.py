"""SageMaker's own rules beyond its API model (the strict layer's service semantics)."""
