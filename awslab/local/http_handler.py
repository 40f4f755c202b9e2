"""The local cloud's HTTP request handler: moto's, plus what API Gateway's front needs and no banner.

1. Header names as the client sent them. WSGI folds every header into an upper-case `HTTP_*`
   environ key, and werkzeug's server joins a repeated header's values with commas, so neither the
   case nor the repetition survives in the environ (werkzeug keeps no copy of the request lines
   there either). API Gateway keeps both: `x-lower-case` reaches the handler lowercase, and a header
   sent twice is two entries in multiValueHeaders. http.server has already parsed the header lines
   into `self.headers` (names as sent, in order, repeated ones separate); `make_environ` copies them
   to environ[RAW_HEADERS] for the API Gateway front (awslab.local.gateway).
2. No `Server: Werkzeug/x Python/y` banner: http.server adds it to every response, and no AWS
   endpoint announces a Python server. A Server header the app sets itself (moto's) still goes out.
"""

from __future__ import annotations

from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

from awslab.local.apigw_proxy import RAW_HEADERS


class LocalCloudRequestHandler(MotoRequestHandler):
    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[RAW_HEADERS] = [
            (name, value.replace("\r\n", "").strip()) for name, value in self.headers.items()
        ]
        return environ

    def send_response(self, code: int, message: str | None = None) -> None:
        """http.server's send_response without its Server header (the Date header stays)."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
