"""Reads with business meaning, one module per sub-domain.

Import a selector from its module (`from mdm.selectors.roles import user_role`);
this package re-exports nothing.
"""
