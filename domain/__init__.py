"""The product's rules (pure functions), its models and its use cases."""
