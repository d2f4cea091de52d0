"""B1 settings: the least a Channels chat needs. No database, no sessions, no middleware.

`DJANGO_SETTINGS_MODULE=bench.b1_settings uvicorn bench.b1_app:application`, with REDIS_URL and
B1_PREFIX set. The channel layer is the one Parley uses with REDIS_URL, with its defaults.
"""

import os

SECRET_KEY = "b1-" + "k" * 48
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["channels"]
ROOT_URLCONF = "bench.b1_app"
ASGI_APPLICATION = "bench.b1_app.application"
DATABASES: dict = {}
USE_TZ = True
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")],
            "prefix": os.environ.get("B1_PREFIX", "b1"),
        },
    }
}
