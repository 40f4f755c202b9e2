"""Defaults of the local cloud's Lambda executor that the server must know before the executor is
imported (its first health check answers while moto and the executor still load)."""

# AWS keeps an idle execution environment for minutes (5 to 15 observed)
DEFAULT_IDLE_TIMEOUT_S = 300.0
