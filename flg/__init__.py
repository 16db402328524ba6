"""FLG 360: its wire format in both directions, and nothing of the portal's own.

Callers import a module and name it at the call site (`from flg import sessions` …
`sessions.create(...)`), so a reader sees where the portal talks to FLG. This package imports
no app of ours.
"""
