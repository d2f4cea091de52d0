"""The open-files limit, checked once at start: every socket a process holds is an open file.

Past its soft RLIMIT_NOFILE a process cannot accept another connection: uvicorn resets new
clients (health probes included) and logs nothing. systemd gives a service a soft limit of 1024
unless told otherwise, which is about 1,000 sockets. So a process raises its soft limit to the
hard limit when it may, and says in one log line when it is still too low to hold
`WANTED_OPEN_FILES`.
"""

import logging
import resource

logger = logging.getLogger(__name__)

# Sockets one process should be able to hold, with room for its database, Redis and log files.
# A Parley process on two cores serves a few thousand sockets; 1024 runs out well before that.
WANTED_OPEN_FILES = 4096


def raise_open_files_limit() -> int:
    """Raise the soft open-files limit to the hard limit if allowed, log what was done or what
    is still too low, and return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError) as error:
            # A seccomp filter (SystemCallFilter=~@resources) or a container may forbid it.
            logger.warning(
                "open files: could not raise the soft limit %d to the hard limit %d (%s)",
                soft,
                hard,
                error,
            )
        else:
            logger.info("open files: soft limit raised from %d to the hard limit %d", soft, hard)
            soft = hard
    if soft != resource.RLIM_INFINITY and soft < WANTED_OPEN_FILES:
        logger.warning(
            "open files: the limit is %d, so this process holds fewer than %d sockets and then "
            "resets new connections, /healthz included; raise it to at least %d (LimitNOFILE= "
            "in the systemd unit, ulimit -n in a shell)",
            soft,
            soft,
            WANTED_OPEN_FILES,
        )
    return soft
