"""Spike detection: early warning when something goes viral (a post spreading far faster than
its account's usual, or mentions or concerns far above their usual for that hour of the week).
The rules are pure functions in `detect`; `timer` runs them on the leader worker."""
