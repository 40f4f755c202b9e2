"""awslab: provision, exercise and clean up serverless AWS labs from YAML specs."""

__version__ = "0.1.0"
