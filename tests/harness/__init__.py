"""Helpers that start real services for the integration suites.

Every helper starts its process on 127.0.0.1 with a free port and a throwaway
directory, remembers the PID, and stops exactly that PID in ``stop()`` (also
usable as a context manager). Nothing is mocked.

- :mod:`harness.ports`   -- ``free_port()``, ``wait_for_port()``
- :mod:`harness.redis`   -- ``RedisServer(tmpdir)`` and a tiny RESP ``RedisClient``
- :mod:`harness.nginx`   -- ``Nginx(tmpdir, http_body, module_path=...)``, ``nginx_t()``
- :mod:`harness.gitrepo` -- ``make_bare_repo()``, ``FcgiWrap(tmpdir)``
- :mod:`harness.paths`   -- build/source directories from the environment
"""
