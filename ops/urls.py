from django.urls import path

from ops import sveltekit_app, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    # The SvelteKit client: its built files, and its page for every other path under /app/.
    path("app", sveltekit_app.app_file_or_page, name="app"),
    path("app/", sveltekit_app.app_file_or_page),
    path("app/<path:path>", sveltekit_app.app_file_or_page, name="app-path"),
]
