"""Who is looking, and which posts they may see: a user's role applied to every query and post.

A ``communications`` user sees every post. A ``department`` user sees only the posts labelled
with their department: every search and count the dashboard makes goes through `Viewer.scope`,
and every single post it shows or changes through `Viewer.may_see`, so no page, export or form
reaches another department's post (an item asked for by URL is "not found", as if absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from dashboards.web.users import DashboardUser, Role, find_user
from socmon.index.port import DocumentStore, PostQuery
from socmon.records import EnrichedPost


@dataclass(frozen=True)
class Viewer:
    """The logged-in user as far as seeing posts goes."""

    name: str
    role: Role = "communications"
    department: str | None = None

    @property
    def sees_everything(self) -> bool:
        return self.role == "communications"

    def scope(self, query: PostQuery) -> PostQuery:
        """`query` narrowed to what this user may see (any department filter is replaced)."""
        if self.sees_everything:
            return query
        # The same department in both: "any of them" is that one, whichever the adapter reads.
        department = self.department or ""
        return replace(query, department=department, departments=(department,))

    def may_see(self, post: EnrichedPost) -> bool:
        """True if the post is in this user's view (its departments as corrected)."""
        return self.sees_everything or self.department in post.classification.departments


def viewer_of(index: DocumentStore, name: str) -> Viewer:
    """The viewer of user `name`: its stored role; a name with no stored user (one the login
    proxy admits) is communications, as every user was before roles."""
    user = find_user(index, name)
    if user is None:
        return Viewer(name)
    return Viewer(user.name, user.role, user.department)


def assignable_to(post: EnrichedPost, users: Sequence[DashboardUser], me: str) -> list[str]:
    """The user names a post's case may be assigned to: those who may see it, and `me`."""
    names = {
        user.name for user in users if Viewer(user.name, user.role, user.department).may_see(post)
    }
    names.add(me)
    return sorted(names, key=str.casefold)
