"""The organisation tree: materialised path and ancestor ids, kept in one place.

``parent_path`` is ``'1/7/42/'`` for node 42 under 7 under 1 (the node's own id
included). Every org row also carries ``unit_id``, ``county_id``, ``city_id`` and
``competent_dept_id``; persons and declarations copy them from their unit. These
functions are the only writers of those columns.
"""

from sqlalchemy import and_, or_, select, update

from .extensions import db
from .models import Org, Person


def subtree_clause(path, column=None):
    """SQL: rows whose path starts with ``path``, as a range a B-tree index serves."""
    column = Org.parent_path if column is None else column
    upper = path[:-1] + chr(ord("/") + 1)  # '1/7/' → '1/70': just past every '1/7/…'
    return and_(column >= path, column < upper)


def _ancestors_from(parent, node):
    """The ancestor ids a node gets under ``parent``."""
    city_id = parent.city_id if parent is not None else None
    county_id = parent.county_id if parent is not None else None
    unit_id = parent.unit_id if parent is not None and parent.kind in ("unit", "department") else None
    competent = parent.competent_dept_id if parent is not None and parent.kind in ("unit", "department") else None
    if node.kind == "city_hrss":
        city_id = node.id
    elif node.kind == "county_hrss":
        county_id = node.id
    elif node.kind == "unit":
        unit_id = node.id
        competent = node.competent_dept_id
    return city_id, county_id, unit_id, competent


def attach(node, parent):
    """Insert ``node`` under ``parent`` (None for the root): path and ancestor ids."""
    node.parent = parent
    node.parent_id = parent.id if parent is not None else None
    if node.id is None:
        db.session.add(node)
        db.session.flush()
    node.parent_path = (parent.parent_path if parent is not None else "") + f"{node.id}/"
    node.city_id, node.county_id, node.unit_id, competent = _ancestors_from(parent, node)
    if node.kind in ("unit", "department"):
        node.competent_dept_id = competent
    return node




def person_row_models():
    """Every table whose rows belong to a person and copy the person's ancestor ids
    (declarations, year results, certificates, requests…): the models built on
    ``PersonOwned``, so that a new such table is kept right without editing this module."""
    from .models import PersonOwned

    models = [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, PersonOwned)]
    return sorted(models, key=lambda c: c.__name__)


def _rewrite_level(column_name, old, new, org_where, person_where, row_where):
    """Set an ancestor column from ``old`` to ``new`` on every row of a subtree.

    ``row_where(model)`` selects the person-owned rows of the subtree of ``model``."""
    if old == new:
        return
    targets = [(Org, org_where), (Person, person_where)]
    targets += [(model, row_where(model)) for model in person_row_models()]
    for model, where in targets:
        col = getattr(model, column_name)
        match = col.is_(None) if old is None else col == old
        db.session.execute(
            update(model).where(where, match).values({column_name: new}).execution_options(
                synchronize_session=False
            )
        )


def move(node, new_parent):
    """Move ``node`` and its subtree under ``new_parent``: set-based, one call.

    Rewrites the subtree's paths with one UPDATE, then every ancestor id that came from
    above the moved node on orgs, persons and declarations of the subtree.
    """
    if new_parent is None or new_parent.id == node.id:
        raise ValueError("不能移动到自身之下")
    if new_parent.parent_path.startswith(node.parent_path):
        raise ValueError("不能移动到自己的下级之下")
    db.session.flush()
    old_path = node.parent_path
    new_path = new_parent.parent_path + f"{node.id}/"
    in_subtree = subtree_clause(old_path)
    old = {
        "city_id": node.city_id,
        "county_id": node.county_id,
        "unit_id": node.unit_id,
        "competent_dept_id": node.competent_dept_id,
    }
    new_city, new_county, new_unit, new_competent = _ancestors_from(new_parent, node)

    subtree_ids = select(Org.id).where(in_subtree).scalar_subquery()
    person_where = or_(Person.unit_id.in_(subtree_ids), Person.department_id.in_(subtree_ids))

    def row_where(model):
        return model.unit_id.in_(subtree_ids)

    changes = {"city_id": new_city, "county_id": new_county}
    if node.kind == "department":
        changes["unit_id"] = new_unit
        changes["competent_dept_id"] = new_competent
    for column_name, value in changes.items():
        _rewrite_level(column_name, old[column_name], value, in_subtree, person_where, row_where)
    from . import summary

    # The roll-up follows the move (a department's old and new unit too).
    summary.refresh_units(summary.units_of_subtree(old_path) + [u for u in (old["unit_id"], new_unit) if u])

    db.session.execute(
        update(Org)
        .where(in_subtree)
        .values(parent_path=new_path + db.func.substr(Org.parent_path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Org).where(Org.id == node.id).values(parent_id=new_parent.id).execution_options(
            synchronize_session=False
        )
    )
    db.session.expire_all()


def set_competent_dept(unit, dept):
    """Change a unit's competent department; its departments, persons and records follow."""
    old = unit.competent_dept_id
    new = dept.id if dept is not None else None
    if old == new:
        return
    in_subtree = subtree_clause(unit.parent_path)
    subtree_ids = select(Org.id).where(in_subtree).scalar_subquery()
    _rewrite_level(
        "competent_dept_id",
        old,
        new,
        in_subtree,
        Person.unit_id == unit.id,
        lambda model: model.unit_id.in_(subtree_ids),
    )
    from . import summary

    summary.refresh_units([unit.id])
    db.session.expire_all()


def move_person(person, unit, department=None):
    """A transfer: the person, their login role and every row they own follow, set-based."""
    from . import summary
    from .models import Membership

    old_unit = db.session.scalar(select(Person.unit_id).where(Person.id == person.id))
    values = {
        "unit_id": unit.id,
        "county_id": unit.county_id,
        "city_id": unit.city_id,
        "competent_dept_id": unit.competent_dept_id,
    }
    db.session.execute(
        update(Person).where(Person.id == person.id)
        .values(department_id=department.id if department is not None else None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Membership).where(Membership.id == person.membership_id).values(org_id=unit.id)
        .execution_options(synchronize_session=False)
    )
    for model in person_row_models():
        db.session.execute(
            update(model).where(model.person_id == person.id).values(**values)
            .execution_options(synchronize_session=False)
        )
    summary.refresh([person.id], extra_units=[old_unit])  # region and unit of every year
    db.session.expire_all()


def place_person(person, unit, department=None):
    """Set a person's unit/department and copy the unit's ancestor ids onto the person."""
    person.unit_id = unit.id
    person.department_id = department.id if department is not None else None
    person.county_id = unit.county_id
    person.city_id = unit.city_id
    person.competent_dept_id = unit.competent_dept_id


def stamp_declaration(declaration, person):
    """Copy a person's ancestor ids onto a declaration (at insert)."""
    declaration.person_id = person.id
    declaration.unit_id = person.unit_id
    declaration.county_id = person.county_id
    declaration.city_id = person.city_id
    declaration.competent_dept_id = person.competent_dept_id


def hrss_of(org):
    """The nearest HRSS node at or above ``org`` (the HRSS of a unit's region)."""
    from .models import HRSS_KINDS

    node = org
    while node is not None and node.kind not in HRSS_KINDS:
        node = node.parent
    return node
