"""All the stores over one database: what services are given."""

from __future__ import annotations

from dataclasses import dataclass

from zenml_server.storage.audit import AuditStore
from zenml_server.storage.changes import ChangeLog
from zenml_server.storage.db import Database, open_database
from zenml_server.storage.devices import DeviceStore
from zenml_server.storage.identities import IdentityStore
from zenml_server.storage.revoked_tokens import RevokedTokenStore
from zenml_server.storage.server_settings import ServerSettingsStore
from zenml_server.storage.service_accounts import ServiceAccountStore
from zenml_server.storage.signing_keys import SigningKeyStore
from zenml_server.storage.trust_policies import TrustPolicyStore
from zenml_server.storage.users import SessionStore, UserStore


@dataclass(frozen=True)
class Store:
    db: Database
    server_settings: ServerSettingsStore
    users: UserStore
    sessions: SessionStore
    devices: DeviceStore
    service_accounts: ServiceAccountStore
    changes: ChangeLog
    signing_keys: SigningKeyStore
    revoked_tokens: RevokedTokenStore
    trust_policies: TrustPolicyStore
    identities: IdentityStore
    audit: AuditStore

    @classmethod
    def over(cls, db: Database) -> Store:
        return cls(
            db=db,
            server_settings=ServerSettingsStore(db),
            users=UserStore(db),
            sessions=SessionStore(db),
            devices=DeviceStore(db),
            service_accounts=ServiceAccountStore(db),
            changes=ChangeLog(db),
            signing_keys=SigningKeyStore(db),
            revoked_tokens=RevokedTokenStore(db),
            trust_policies=TrustPolicyStore(db),
            identities=IdentityStore(db),
            audit=AuditStore(db),
        )

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 10) -> Store:
        return cls.over(await open_database(url, pool_size=pool_size))

    async def close(self) -> None:
        await self.db.close()
