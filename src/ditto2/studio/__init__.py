"""``ditto2 studio``: a web page for every control, over one warm pipeline (docs/studio.md).

``service`` (no web framework) turns a page request into the ``ditto2 generate`` command line and runs it;
``page`` is the Gradio page over it.
"""
