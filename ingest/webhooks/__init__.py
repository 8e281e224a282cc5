"""The webhook receiver (`socmon webhooks`): the platforms push Page and Instagram activity (Meta)
and mentions and replies (X Activity API) to it, and it produces them to ``socmon.posts.raw``
keyed like the polling connectors, so push and poll never index one item twice."""
