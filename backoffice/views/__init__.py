"""Flask-Admin views, one module per area.

Each module defines ``register(admin)`` and an ``ORDER`` number (menu order); modules
are discovered here, so adding an area means adding a module.
"""

import importlib
import pkgutil


def register_views(admin):
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            modules.append(module)
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        module.register(admin)
