from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Connects the receivers that close sockets when a login ends.
        from accounts import revocation  # noqa: F401
