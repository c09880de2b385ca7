from tests.live_http import base_url, plain_http  # noqa: F401  (fixtures)
