"""The provisioning engine: dependency graph, plan (data), execution, teardown."""
