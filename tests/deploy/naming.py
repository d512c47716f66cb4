"""``[core] hostname_callable`` of the deployment test's components: each names itself.

All of them run on one machine, so the fully qualified domain name would be the same for both
Celery workers; a task instance's ``hostname`` must say which worker ran each try.
"""

from __future__ import annotations

import os
import socket


def component_name() -> str:
    return os.environ.get("ALIGNMENT_COMPONENT") or socket.getfqdn()
