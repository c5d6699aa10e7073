"""Pages outside the admin (public registration, queries, the person's portal).

Each module of this package defines a Flask ``bp`` blueprint; they are discovered and
registered by ``register_blueprints``, so adding an area means adding a module.
"""

import importlib
import pkgutil


def register_blueprints(app):
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
