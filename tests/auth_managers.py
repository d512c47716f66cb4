"""An auth manager for tests: Airflow's SimpleAuthManager, except that the user ``restricted``
may not read the DAGs named in ``ALIGNMENT_TEST_HIDDEN_DAGS`` (comma-separated). It stands for
a deployment whose auth manager grants DAGs one by one (FAB, Keycloak)."""

from __future__ import annotations

import os
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

RESTRICTED = "restricted"


class HidingAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        hidden = {d for d in os.environ.get("ALIGNMENT_TEST_HIDDEN_DAGS", "").split(",") if d}
        if getattr(user, "username", None) == RESTRICTED and details is not None and details.id in hidden:
            return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
