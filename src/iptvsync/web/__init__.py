"""The web page served by iptvsync itself (``/``): plain HTML, CSS and ES modules in
``static/``, no build step. ``routes.router`` serves them; see docs/web.md."""
