"""The sections of ``bench/run.py``: each module measures one thing and renders its table.

A section is a function ``Settings -> dict`` (the JSON it adds under its name) plus a
``render_*`` function turning that dict into the markdown table ``bench/run.py`` prints.
Shared settings and helpers are in ``sections.common``.
"""
