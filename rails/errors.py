"""Errors of the rails package.

RailsError
└── RailsConfigError   the policy folder does not parse or refers to something missing
"""


class RailsError(Exception):
    pass


class RailsConfigError(RailsError):
    """A policy-owner mistake: the message names the file or flow at fault."""
