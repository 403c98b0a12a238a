"""The web dashboard: server-rendered pages (Jinja2) over the same accounts, scopes and
disclosure control as the HTTP API, with vendored static assets and no network at run time.

``corridor.web.site.mount(app)`` adds the pages, login/logout and ``/static`` to the API's app
(``corridor.api.app.create_app`` calls it). Each page is one module beside this file with a
``router`` and one template; see docs/dashboard.md ("Adding a page").
"""
