"""Classifiers that label posts: sentiment, abusive language, and the policy rules."""
