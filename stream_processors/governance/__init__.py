"""Governance of the official accounts: the weekly sweep (inactive accounts, handovers, reviews,
the week's breaches), requests for new accounts, and the detection of unregistered look-alike
accounts. The register in effect (configuration plus what the communications team recorded
since) is shared with alert routing, so it lives in `socmon.register`.

`socmon accounts ...` is the command line; the monthly report reads `account_requests`.
"""

from socmon.register import Register, load_register
from stream_processors.governance.requests import AccountRequest, account_requests
from stream_processors.governance.sweep import InactiveAccount, SweepPolicy, sweep

__all__ = [
    "AccountRequest",
    "InactiveAccount",
    "Register",
    "SweepPolicy",
    "account_requests",
    "load_register",
    "sweep",
]
