"""Accounts that look like the organisation's but are not in the register (a forgotten team
account, or an impersonator): their posts raise an ``unregistered_account`` alert to the
communications team, once per account (the alert id names the account, not the post).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from socmon.config.governance import OfficialAccount, handle_key, name_fragment
from socmon.records import Alert, EnrichedPost
from socmon.settings import Settings


@dataclass(frozen=True)
class LookalikeAccounts:
    """Recognises authors whose name contains the organisation's name or a configured pattern."""

    fragments: tuple[str, ...]
    registered: frozenset[tuple[str, str]]

    @classmethod
    def build(
        cls, organisation: str, patterns: Iterable[str], accounts: Iterable[OfficialAccount]
    ) -> LookalikeAccounts:
        names = [organisation, *patterns]
        fragments = tuple(dict.fromkeys(f for f in map(name_fragment, names) if f))
        # Closed accounts stay registered: their posts are the register's business, not an alarm.
        return cls(fragments, frozenset(acc.key for acc in accounts))

    @classmethod
    def from_settings(cls, settings: Settings) -> LookalikeAccounts:
        governance = settings.governance
        return cls.build(settings.organisation.name, governance.name_patterns, settings.accounts)

    def matching_name(self, author: str) -> str | None:
        """The organisation name or pattern (as compared) that `author` contains, if any."""
        compared = name_fragment(author)
        return next((f for f in self.fragments if f in compared), None)

    def alert_for(self, enriched: EnrichedPost) -> Alert | None:
        """An ``unregistered_account`` alert when the post's author looks like us but is not
        registered on that platform."""
        post = enriched.post
        if (post.platform, handle_key(post.author)) in self.registered:
            return None
        matched = self.matching_name(post.author)
        if matched is None:
            return None
        author = post.author.lstrip("@")
        return Alert(
            alert_id=Alert.make_id("unregistered_account", f"{post.platform}:{handle_key(author)}"),
            kind="unregistered_account",
            summary=(
                f"@{author} on {post.platform} looks like an account of the organisation (its "
                f"name contains {matched!r}) but is not in the register: register it, or report "
                "it if it is an impersonation"
            ),
            account=author,
            post=post,
            classification=enriched.classification,
        )
