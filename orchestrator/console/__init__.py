"""The operator console: server-rendered pages on the API's app, sharing its tokens.

`install` (app.py) mounts it; sessions and CSRF are in session.py; the inbox, runs list
and run page read through inbox.py, runs.py and waiting.py; actions.py signs in and out
and decides through the API's own signing code.
"""
