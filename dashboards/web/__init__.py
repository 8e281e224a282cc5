"""The built-in web dashboard (embedded mode; also works against Elasticsearch)."""
