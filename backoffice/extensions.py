"""Flask extensions, created unbound and initialised in ``create_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Deterministic constraint names so that Alembic migrations are portable.
naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate()
login_manager = LoginManager()
mail = Mail()
babel = Babel()
csrf = CSRFProtect()
# Rate limits for sign-in and public queries (memory storage; RATELIMIT_STORAGE_URI
# points at Redis in a multi-process deployment).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
