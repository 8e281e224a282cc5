"""Stream processors: the stages that read posts from the topics and enrich them."""
