"""API keys of training institutions: creation, revocation and authentication.

A key reads ``jxjy_<prefix>_<secret>``: the prefix (public, unique) finds the row, the
secret carries 256 bits of randomness and only its SHA-256 is stored (a slow password
hash would add nothing against guessing such a secret and cost every call). The full
key is shown once, when it is created.

A key acts as its institution through the membership of the super-admin who created
it: the permission layer's ``Scope`` is built from that membership, so the key reaches
exactly what the institution's pages reach. Functions flush, the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import ApiKey, now

KEY_PREFIX = "jxjy"
MAX_KEYS_PER_INSTITUTION = 20


class ApiKeyError(ValueError):
    """A refused key operation (Chinese message, optional field)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message, self.field = message, field


def hash_secret(full_key: str) -> str:
    return hashlib.sha256(full_key.encode("utf-8")).hexdigest()


def parse_ip_list(text: str | None) -> list[str]:
    """Addresses or networks, one per line (commas and spaces also separate)."""
    items = [p.strip() for p in (text or "").replace(",", "\n").replace("，", "\n").split() if p.strip()]
    if len(items) > 50:
        raise ApiKeyError("IP 白名单最多 50 项", "allowed_ips")
    out = []
    for item in items:
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ApiKeyError(f"IP 地址或网段格式不正确：{item[:50]}", "allowed_ips") from None
    return out


def ip_allowed(key: ApiKey, address: str | None) -> bool:
    networks = key.ip_list
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def create_key(membership, name: str, allowed_ips: str | None = None, expires_at: datetime | None = None):
    """A new key of ``membership``'s institution: returns (row, full key shown once)."""
    if membership.role != "institution_admin" or not membership.is_super or membership.status != "active":
        raise ApiKeyError("只有施教机构的超级管理员可以创建 API 密钥")
    name = (name or "").strip()
    if not name:
        raise ApiKeyError("请输入密钥名称", "name")
    if len(name) > 100:
        raise ApiKeyError("密钥名称不能超过 100 字", "name")
    networks = parse_ip_list(allowed_ips)
    if expires_at is not None and expires_at <= now():
        raise ApiKeyError("有效期须晚于当前时间", "expires_at")
    active = [k for k in db.session.scalars(select(ApiKey).where(ApiKey.institution_id == membership.org_id))
              if k.state() == "active"]
    if len(active) >= MAX_KEYS_PER_INSTITUTION:
        raise ApiKeyError(f"每个施教机构最多保留 {MAX_KEYS_PER_INSTITUTION} 个有效密钥，请先吊销不用的密钥")
    prefix = secrets.token_hex(6)
    full = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(institution_id=membership.org_id, membership_id=membership.id, name=name, prefix=prefix,
                 secret_hash=hash_secret(full), allowed_ips="\n".join(networks) or None, expires_at=expires_at,
                 created_at=now())
    db.session.add(key)
    db.session.flush()
    audit.record("create", "api_key", key.id, actor=membership,
                 after={"name": name, "prefix": prefix, "allowed_ips": networks, "expires_at": expires_at})
    return key, full


def revoke_key(key: ApiKey, membership):
    if key.revoked_at is not None:
        raise ApiKeyError("该密钥已吊销")
    key.revoked_at, key.revoked_by_id = now(), membership.id
    db.session.flush()
    audit.record("revoke", "api_key", key.id, actor=membership, after={"prefix": key.prefix})
    return key


def split_key(presented: str | None):
    """The prefix of a presented key, or None when it is not shaped like one."""
    parts = (presented or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12:
        return None
    if not all(c in "0123456789abcdef" for c in parts[1]):
        return None
    return parts[1]


def find_key(presented: str | None):
    """The key row whose secret matches, or None (constant-time comparison)."""
    prefix = split_key(presented)
    if prefix is None:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(presented)):
        return None
    return key
