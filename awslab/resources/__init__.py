"""Resource kinds: one module per AWS service, one class per kind (see base.py)."""
