"""How the local cloud's URLs look. Shared by the target (to compute `url` attributes) and the
local cloud's own HTTP layer (to route them), so both sides agree by construction.

API Gateway stages are served under the endpoint's own origin (http://127.0.0.1:PORT);
S3 websites under http://localhost:PORT, a different origin, so a browser really performs CORS
between a website and an API.
"""

from __future__ import annotations

from urllib.parse import urlsplit

API_PREFIX = "/_aws/execute-api"
WEBSITE_PREFIX = "/_aws/s3-website"
LAMBDA_URL_PREFIX = "/_aws/lambda-url"  # Lambda function URLs: <prefix>/<url id>/<path>
HEALTH_PATH = "/_awslab/health"


def api_url(endpoint_url: str, api_id: str, stage: str) -> str:
    return f"{endpoint_url.rstrip('/')}{API_PREFIX}/{api_id}/{stage}"


def http_api_url(endpoint_url: str, api_id: str, stage: str) -> str:
    """An HTTP API stage: `$default` is served at the API's root, as on AWS."""
    base = f"{endpoint_url.rstrip('/')}{API_PREFIX}/{api_id}"
    return base if stage == "$default" else f"{base}/{stage}"


def function_url(endpoint_url: str, url_id: str) -> str:
    return f"{endpoint_url.rstrip('/')}{LAMBDA_URL_PREFIX}/{url_id}/"


def website_url(endpoint_url: str, bucket: str) -> str:
    port = urlsplit(endpoint_url).port
    return f"http://localhost:{port}{WEBSITE_PREFIX}/{bucket}/"


def parse_api_path(path: str) -> tuple[str, str, str] | None:
    """'/_aws/execute-api/<id>/<stage>/rest/of/path' -> (id, stage, '/rest/of/path')."""
    if not path.startswith(API_PREFIX + "/"):
        return None
    parts = path[len(API_PREFIX) + 1 :].split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    rest = "/" + parts[2] if len(parts) == 3 else "/"
    return parts[0], parts[1], rest


def parse_website_path(path: str) -> tuple[str, str] | None:
    """'/_aws/s3-website/<bucket>/a/b.html' -> (bucket, 'a/b.html'); key '' means the index."""
    if not path.startswith(WEBSITE_PREFIX + "/"):
        return None
    parts = path[len(WEBSITE_PREFIX) + 1 :].split("/", 1)
    if not parts[0]:
        return None
    return parts[0], parts[1] if len(parts) == 2 else ""
