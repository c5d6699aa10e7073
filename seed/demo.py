"""Demo data: the real Henan HRSS tree, base data, standards, and one account per role.

``load_demo()`` fills an empty database; ``load_reference()`` loads only what every
installation needs (regions, HRSS tree, base data, standards, learning forms), which the
tests reuse.
"""

import csv
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from backoffice import hours
from backoffice.extensions import db
from backoffice.models import (
    Account,
    Affiliation,
    Declaration,
    HourStandard,
    Industry,
    LearningForm,
    Major,
    Membership,
    Org,
    Person,
    Region,
    ReviewStep,
    Subject,
    TitleSeries,
    UnitLevel,
    UnitType,
)
from backoffice.tree import attach, hrss_of, place_person, stamp_declaration
from backoffice.validators import make_credit_code, make_id_number

DIVISIONS_CSV = Path(__file__).with_name("henan-divisions.csv")
DEMO_PASSWORD = "Demo@2026"
PROVINCE_CODE = "410000"

UNIT_TYPES = ["机关", "事业单位", "国有企业", "民营企业", "社会团体", "其他"]
AFFILIATIONS = ["中央", "省属", "市属", "县（区）属", "乡镇", "其他"]
UNIT_LEVELS = ["省级", "市级", "县（区）级", "乡镇级"]
INDUSTRIES = ["教育", "卫生健康", "农业农村", "工程技术", "经济", "会计", "新闻出版", "其他"]
TITLE_SERIES = [
    "工程技术", "卫生技术", "中小学教师", "高等学校教师", "经济", "会计", "农业技术", "新闻",
    "出版", "统计", "审计", "律师", "群众文化", "图书资料",
]
MAJORS = [
    "临床医学", "护理学", "药学", "中医学", "计算机科学与技术", "土木工程", "电气工程及其自动化",
    "机械设计制造及其自动化", "汉语言文学", "数学与应用数学", "英语", "会计学", "经济学", "农学",
    "园艺", "新闻学", "法学", "教育学",
]


def _ensure(model, names):
    existing = set(db.session.scalars(select(model.name)))
    for i, name in enumerate(names):
        if name not in existing:
            db.session.add(model(name=name, sort_order=i))


def load_regions():
    if db.session.scalar(select(func.count()).select_from(Region)):
        return
    db.session.add(Region(code=PROVINCE_CODE, name="河南省", parent_code=None, kind="province"))
    with DIVISIONS_CSV.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            parent = row["parent_code"]
            parent = PROVINCE_CODE if parent == "41" else parent.ljust(6, "0")
            db.session.add(Region(code=row["code"], name=row["name"], parent_code=parent, kind=row["kind"]))


def load_hrss_tree():
    """The province HRSS, one city HRSS per city (济源 included), one county HRSS per division."""
    province = db.session.scalar(select(Org).where(Org.kind == "province_hrss"))
    if province is not None:
        return province
    province = attach(
        Org(kind="province_hrss", name="河南省人力资源和社会保障厅", code=PROVINCE_CODE, division_code=PROVINCE_CODE),
        None,
    )
    cities = {}
    with DIVISIONS_CSV.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["kind"] in ("city", "sub_prefecture_city"):
            cities[row["code"]] = attach(
                Org(kind="city_hrss", name=f"{row['name']}人力资源和社会保障局", code=row["code"],
                    division_code=row["code"]),
                province,
            )
    for row in rows:
        if row["kind"] in ("city", "sub_prefecture_city"):
            continue
        city = cities[row["parent_code"].ljust(6, "0")]
        name = row["name"]
        suffix = "人力资源和社会保障局" if row["kind"] != "functional_zone" else "人力资源和社会保障部门"
        attach(Org(kind="county_hrss", name=f"{name}{suffix}", code=row["code"], division_code=row["code"]), city)
    return province


def load_base_data():
    _ensure(UnitType, UNIT_TYPES)
    _ensure(Affiliation, AFFILIATIONS)
    _ensure(UnitLevel, UNIT_LEVELS)
    _ensure(Industry, INDUSTRIES)
    _ensure(TitleSeries, TITLE_SERIES)
    _ensure(Major, MAJORS)
    if not db.session.scalar(select(func.count()).select_from(HourStandard)):
        for row in hours.DEFAULT_STANDARDS:
            db.session.add(HourStandard(**{k: row[k] for k in (
                "year_from", "year_to", "title_group", "region_group", "total", "public", "professional")}))
    existing = set(db.session.scalars(select(LearningForm.code)))
    for i, (code, name) in enumerate(hours.FORM_NAMES.items()):
        if code not in existing:
            db.session.add(LearningForm(code=code, name=name, rule=hours.DEFAULT_RULES[code], sort_order=i))


def load_reference():
    """Everything an installation needs before the first registration."""
    load_regions()
    load_base_data()
    province = load_hrss_tree()
    db.session.flush()
    return province


# --------------------------------------------------------------------------- demo
def _account(id_number, name, email=None, phone=None, password=DEMO_PASSWORD):
    account = db.session.scalar(select(Account).where(Account.id_number == id_number))
    if account is None:
        account = Account(id_number=id_number, name=name, email=email, phone=phone)
        account.set_password(password)
        db.session.add(account)
        db.session.flush()
    return account


def _admin(account, role, org, is_super=True, status="active"):
    m = Membership(account=account, role=role, org=org, is_super=is_super, status=status)
    db.session.add(m)
    db.session.flush()
    return m


def _org_by_code(code):
    return db.session.scalar(select(Org).where(Org.code == code))


def _by_name(model, name):
    return db.session.scalar(select(model).where(model.name == name))


class DemoIds:
    """Sequential valid ID numbers for demo people."""

    def __init__(self):
        self.n = 0

    def __call__(self, region, birth, female=False):
        self.n += 1
        seq = self.n * 2 + (0 if female else 1)
        return make_id_number(region, birth, seq % 1000)


def load_demo():
    """Fill an empty database with the demo organisation, accounts and records."""
    province = load_reference()
    zhengzhou = _org_by_code("410100")
    luoyang = _org_by_code("410300")
    jinshui = _org_by_code("410105")
    zhongyuan = _org_by_code("410102")
    xigong = _org_by_code("410303")
    new_id = DemoIds()
    serial = iter(range(1, 10_000))

    def credit(region):
        return make_credit_code(region, next(serial), prefix="12")

    # Industry departments (行业主管部门), each under the HRSS of its level.
    health_prov = attach(Org(kind="industry_dept", name="河南省卫生健康委员会", code=credit("410000"),
                             industry=_by_name(Industry, "卫生健康")), province)
    edu_zz = attach(Org(kind="industry_dept", name="郑州市教育局", code=credit("410100"),
                        industry=_by_name(Industry, "教育")), zhengzhou)
    health_js = attach(Org(kind="industry_dept", name="金水区卫生健康委员会", code=credit("410105"),
                           industry=_by_name(Industry, "卫生健康")), jinshui)

    public_inst = _by_name(UnitType, "事业单位")
    county_level = _by_name(UnitLevel, "县（区）级")

    def unit(name, parent, region, competent=None, level=county_level, industry="卫生健康"):
        u = Org(kind="unit", name=name, code=credit(region), competent_dept_id=competent.id if competent else None,
                unit_type=public_inst, unit_level=level, industry=_by_name(Industry, industry),
                affiliation=_by_name(Affiliation, "县（区）属"), address=f"{parent.name}辖区",
                contact_name="王主任", contact_phone="0371-6500" + str(next(serial)).zfill(4))
        return attach(u, parent)

    def dept(name, parent):
        return attach(Org(kind="department", name=name), parent)

    hospital = unit("郑州市金水区人民医院", jinshui, "410105", competent=health_js)
    school = unit("郑州市第七中学", zhongyuan, "410102", competent=edu_zz, industry="教育")
    design = unit("郑州市建筑设计院", zhengzhou, "410100", level=_by_name(UnitLevel, "市级"), industry="工程技术")
    ly_hospital = unit("洛阳市西工区中心医院", xigong, "410303")
    prov_hospital = unit("河南省人民医院", province, "410000", competent=health_prov,
                         level=_by_name(UnitLevel, "省级"))
    depts = {
        hospital.id: [dept("内科", hospital), dept("外科", hospital), dept("护理部", hospital)],
        school.id: [dept("数学教研组", school), dept("语文教研组", school)],
        design.id: [dept("建筑一所", design)],
        ly_hospital.id: [dept("儿科", ly_hospital)],
        prov_hospital.id: [dept("心内科", prov_hospital)],
    }
    # A nested department.
    depts[hospital.id].append(dept("心血管内科", depts[hospital.id][0]))
    institution = attach(Org(kind="institution", name="河南省专业技术人员继续教育基地", code=credit("410000")),
                         province)
    pending_unit = unit("金水区文化路社区卫生服务中心", jinshui, "410105", competent=health_js)
    pending_unit.status = "pending"

    # One account of every role (listed in README.md).
    accounts = {}

    def admin_account(key, name, region, birth, role, org, female=False, **kw):
        account = _account(new_id(region, birth, female), name, email=f"{key}@example.gov.cn", phone="13800000000")
        accounts[key] = (account, _admin(account, role, org, **kw))
        return account

    sys_acc = admin_account("sysadmin", "系统管理员", "410105", date(1980, 1, 1), "sysadmin", None)
    admin_account("province", "省厅管理员", "410102", date(1978, 5, 20), "hrss_admin", province)
    admin_account("city", "郑州市人社局管理员", "410103", date(1982, 7, 8), "hrss_admin", zhengzhou, female=True)
    admin_account("county", "金水区人社局管理员", "410105", date(1985, 3, 4), "hrss_admin", jinshui)
    admin_account("county2", "中原区人社局管理员", "410102", date(1986, 4, 5), "hrss_admin", zhongyuan)
    admin_account("luoyang", "洛阳市人社局管理员", "410303", date(1983, 2, 3), "hrss_admin", luoyang)
    admin_account("industry", "金水区卫健委管理员", "410105", date(1984, 9, 9), "industry_admin", health_js, female=True)
    admin_account("unit", "金水区人民医院管理员", "410105", date(1987, 11, 11), "unit_admin", hospital)
    admin_account("unit2", "第七中学管理员", "410102", date(1988, 12, 12), "unit_admin", school, female=True)
    admin_account("institution", "继续教育基地管理员", "410102", date(1981, 6, 6), "institution_admin", institution)
    admin_account("pending_unit", "社区卫生服务中心申请人", "410105", date(1990, 1, 2), "unit_admin", pending_unit,
                  status="pending")
    del sys_acc

    # Professionals.
    series = _by_name(TitleSeries, "卫生技术")
    teacher = _by_name(TitleSeries, "中小学教师")
    people = [
        ("张伟", hospital, depts[hospital.id][0], "intermediate", series, "临床医学", False),
        ("李娜", hospital, depts[hospital.id][2], "junior", series, "护理学", True),
        ("王强", hospital, depts[hospital.id][3], "associate_senior", series, "临床医学", False),
        ("刘洋", school, depts[school.id][0], "intermediate", teacher, "数学与应用数学", False),
        ("陈静", school, depts[school.id][1], "junior", teacher, "汉语言文学", True),
        ("杨帆", design, depts[design.id][0], "senior", _by_name(TitleSeries, "工程技术"), "土木工程", False),
        ("赵敏", ly_hospital, depts[ly_hospital.id][0], "intermediate", series, "临床医学", True),
        ("孙丽", prov_hospital, depts[prov_hospital.id][0], "associate_senior", series, "临床医学", True),
        ("周杰", hospital, depts[hospital.id][1], "intermediate", series, "临床医学", False),
    ]
    persons = []
    for i, (name, u, d, level, ser, major, female) in enumerate(people):
        birth = date(1980 + i, 1 + i, 10 + i)
        region = u.division_code or (u.parent.division_code if u.parent else "410105") or "410105"
        account = _account(new_id(region, birth, female), name, email=f"person{i + 1}@example.com",
                           phone=f"1390000{i + 1:04d}")
        m = _admin(account, "person", u, is_super=False)
        p = Person(membership=m, account=account, id_number=account.id_number, name=name,
                   gender="female" if female else "male", birth_date=birth, ethnicity="汉族",
                   native_place="河南郑州", school="郑州大学", major=_by_name(Major, major),
                   title_series=ser, title_level=level, phone=account.phone, email=account.email)
        place_person(p, u, d)
        db.session.add(p)
        persons.append(p)
        if i == 0:
            accounts["person"] = (account, m)
    # A person awaiting the unit's approval.
    acc = _account(new_id("410105", date(1995, 5, 5), True), "吴芳", email="wufang@example.com", phone="13900009999")
    m = _admin(acc, "person", hospital, is_super=False, status="pending")
    p = Person(membership=m, account=acc, id_number=acc.id_number, name="吴芳", gender="female",
               birth_date=date(1995, 5, 5), title_level="junior", title_series=series, phone=acc.phone,
               email=acc.email)
    place_person(p, hospital, depts[hospital.id][2])
    db.session.add(p)
    accounts["pending_person"] = (acc, m)
    # One account that is both a unit admin and a professional (FAQ).
    both = accounts["unit"][0]
    m = _admin(both, "person", hospital, is_super=False)
    p = Person(membership=m, account=both, id_number=both.id_number, name=both.name, gender="male",
               birth_date=date(1987, 11, 11), title_level="intermediate", title_series=series, phone="13800000000",
               email=both.email)
    place_person(p, hospital, depts[hospital.id][0])
    db.session.add(p)
    db.session.flush()

    _load_subjects(province, health_js)
    _load_declarations(persons, accounts, hospital, health_js, jinshui)
    from backoffice import summary

    summary.rebuild()  # the records above were written directly, not through the workflow
    db.session.commit()
    return accounts


def _load_subjects(province, industry):
    major = _by_name(Major, "临床医学")
    year = date.today().year
    for y in range(year - 3, year + 1):
        for name in ("专业技术人员职业道德与诚信建设", "法治政府建设与依法行政", "数字经济与创新驱动发展"):
            db.session.add(Subject(kind="public", name=name, year=y, owner_org_id=province.id))
        for name in ("临床诊疗指南更新", "医院感染预防与控制"):
            db.session.add(Subject(kind="professional", name=name, year=y, major=major, owner_org_id=industry.id))
    db.session.flush()


def _load_declarations(persons, accounts, hospital, health_js, jinshui):
    """Records of the demo people in every status, with their review steps."""
    forms = {f.code: f for f in db.session.scalars(select(LearningForm))}
    year = date.today().year
    conference = forms["conference"]
    tc = forms["training_class"]
    unit_admin = accounts["unit"][1]
    county_admin = accounts["county"][1]
    industry_admin = accounts["industry"][1]
    t0 = datetime.now() - timedelta(days=30)

    def decl(person, y, kind, form, claimed, status, fields, reason, steps_done=0, reject=None):
        d = Declaration(year=y, subject_kind=kind, form=form, fields=fields, computed_hours=Decimal(claimed),
                        computed_reason=reason, claimed_hours=Decimal(claimed), source="self",
                        declarer_org_id=None, route="industry" if kind == "professional" else "hrss",
                        status=status, created_at=t0, remarks="")
        stamp_declaration(d, person)
        db.session.add(d)
        if status == "draft":
            return d
        d.submitted_at = t0 + timedelta(days=1)
        chain = [("unit", person.unit_id)]
        if kind == "professional" and person.competent_dept_id:
            chain.append(("industry", person.competent_dept_id))
        chain.append(("hrss", hrss_of(person.unit).id))
        actors = {"unit": unit_admin, "industry": industry_admin, "hrss": county_admin}
        for seq, (level, org_id) in enumerate(chain, start=1):
            step = ReviewStep(seq=seq, level=level, org_id=org_id, status="waiting")
            if status == "approved" or seq <= steps_done:
                step.status, step.actor, step.acted_at = "approved", actors[level], t0 + timedelta(days=1 + seq)
            elif status == "rejected" and seq == steps_done + 1:
                step.status, step.actor, step.acted_at, step.comment = (
                    "rejected", actors[level], t0 + timedelta(days=2 + seq), reject)
            elif status == "pending" and seq == steps_done + 1:
                step.status = "pending"
                d.current_org_id, d.current_level = org_id, level
            d.steps.append(step)
        if status in ("approved", "rejected"):
            d.decided_at = t0 + timedelta(days=5)
            d.reject_reason = reject
        return d

    conf_fields = {"level": "provincial", "days": 3, "paper": True}
    conf_reason = "省级学术会议 3 天 × 4 学时 + 宣读论文 4 学时 = 16 学时"
    zhang, li, wang = persons[0], persons[1], persons[2]
    # 张伟 passed last year and the year before (certificates), and has records of this year in every status.
    for y in (year - 2, year - 1):
        decl(zhang, y, "public", tc, 30, "approved", {"hours": 30}, "培训班 30 学时")
        decl(zhang, y, "professional", tc, 60, "approved", {"hours": 60}, "培训班 60 学时")
    decl(zhang, year, "public", tc, 12, "approved", {"hours": 12}, "培训班 12 学时")
    decl(zhang, year, "professional", conference, 16, "pending", conf_fields, conf_reason)
    decl(zhang, year, "professional", conference, 16, "pending", conf_fields, conf_reason, steps_done=1)
    decl(zhang, year, "public", tc, 8, "draft", {"hours": 8}, "培训班 8 学时")
    decl(zhang, year, "public", tc, 6, "rejected", {"hours": 6}, "培训班 6 学时", reject="证明材料不清晰，请重新上传")
    # Others: pending at the unit, at the industry dept and at the county.
    decl(li, year, "public", tc, 10, "pending", {"hours": 10}, "培训班 10 学时")
    decl(li, year, "professional", conference, 16, "pending", conf_fields, conf_reason, steps_done=2)
    decl(wang, year, "public", tc, 30, "pending", {"hours": 30}, "培训班 30 学时", steps_done=1)
    decl(wang, year - 1, "public", tc, 30, "approved", {"hours": 30}, "培训班 30 学时")
    for p in persons[3:]:
        decl(p, year, "public", tc, 20, "pending", {"hours": 20}, "培训班 20 学时")
        decl(p, year - 1, "professional", tc, 60, "approved", {"hours": 60}, "培训班 60 学时")
    db.session.flush()


DEMO_ACCOUNTS_HELP = [
    ("sysadmin", "系统管理员", None),
    ("province", "省人力资源和社会保障厅", None),
    ("city", "市、区（县）人社局", "410100"),
    ("county", "市、区（县）人社局", "410105"),
    ("industry", "行业主管部门", "org"),
    ("unit", "单位", "org"),
    ("institution", "施教机构", "org"),
    ("person", "个人", None),
]


def demo_accounts_table():
    """Rows (role type, org code, ID number, name) of the demo accounts, for run.py."""
    rows = []
    for key, label, code in DEMO_ACCOUNTS_HELP:
        account = db.session.scalar(select(Account).where(Account.email == f"{key}@example.gov.cn"))
        if key == "person":
            account = db.session.scalar(select(Account).where(Account.email == "person1@example.com"))
        if account is None:
            continue
        membership = next((m for m in account.memberships if m.role != "person" or key == "person"), None)
        org_code = membership.org.code if membership is not None and membership.org is not None and code else ""
        rows.append((label, org_code, account.id_number, account.name))
    return rows
