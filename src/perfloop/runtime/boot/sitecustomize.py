"""Started by Python at start-up in processes of a workload that perfloop observes.

perfloop puts this folder on PYTHONPATH only for the workload's processes; it
does nothing unless PERFLOOP_RUNTIME names a spec file.
"""

import os

if os.environ.get("PERFLOOP_USER_SITE"):  # the project's venv, when perfloop is elsewhere
    from perfloop.user_site import add_user_site

    add_user_site()

if os.environ.get("PERFLOOP_RUNTIME"):
    from perfloop.runtime.hooks import install_from_environment

    install_from_environment()
