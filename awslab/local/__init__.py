"""The local cloud: moto's server plus a Docker-free Lambda executor, an API Gateway front and
S3 website hosting, run as one background process that awslab starts and stops."""
