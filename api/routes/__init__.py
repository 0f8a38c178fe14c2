"""The API's routers, one module per area; each route is a small function over the pipeline."""
