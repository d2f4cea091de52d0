"""What accounts announces to the rest of Parley, without knowing who listens.

`access_revoked` is sent when a login ends (a logout, a revoked or expired token, a new
password, a deactivated or deleted account). chat connects to it and closes the sockets
opened with that login (chat/apps.py); accounts imports nothing of chat. `profile_changed`
is sent when how a user is shown changes.
"""

from django.dispatch import Signal

# Arguments: user_id (int); session (a session fingerprint) or None; token_id or None;
# every_session (bool). With none of session, token_id and every_session, every login of the
# user ended. Sent inside the transaction that ended it; receivers act after commit.
access_revoked = Signal()

# Arguments: user_id (int). How the user is shown (display name, picture) changed; sent after
# commit. chat's sockets of that user read them again, so what they send next shows the change.
profile_changed = Signal()
