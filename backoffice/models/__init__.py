"""The schema. One module per area; everything is re-exported here."""

# Area modules (each lists its tables in __all__).
from .accounts import *  # noqa: E402,F401,F403
from .certificates import *  # noqa: E402,F401,F403
from .core import (  # noqa: F401
    ACCOUNT_STATUSES,
    GENDERS,
    GLOBAL,
    HRSS_KINDS,
    ORG_KINDS,
    ORG_STATUSES,
    ROLES,
    TITLE_LEVELS,
    Account,
    Affiliation,
    AuditLog,
    BaseDataMixin,
    Industry,
    Major,
    Membership,
    Org,
    Person,
    PersonOwned,
    Region,
    TitleSeries,
    UnitLevel,
    UnitType,
    now,
)
from .jobs import *  # noqa: E402,F401,F403
from .portal import *  # noqa: E402,F401,F403
from .records import (  # noqa: F401
    DECLARATION_SOURCES,
    DECLARATION_STATUSES,
    REGION_GROUPS,
    STEP_LEVELS,
    STEP_STATUSES,
    SUBJECT_KINDS,
    TITLE_GROUPS,
    Declaration,
    HourStandard,
    LearningForm,
    ReviewStep,
    Subject,
)
from .review import *  # noqa: E402,F401,F403
from .rules import *  # noqa: E402,F401,F403
from .training import *  # noqa: E402,F401,F403
