"""Exercising a deployed lab (DESIGN.md section 7): HTTP calls to its API, Lambda invokes, SQS
messages, SNS publishes, Step Functions executions, uploads, logs, and the lab's `checks`.

Each module returns dataclasses (with `to_dict()` for `--output json`) or raises typed errors;
nothing here prints. The CLI is `awslab/cli/exercise.py`, the rendering `render.py` here.
"""
