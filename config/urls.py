from django.contrib import admin
from django.urls import include, path

from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.views import admin_login

admin.site.site_header = "Parley administration"
admin.site.site_title = "Parley admin"
# Password guesses at the admin count with the site's (accounts/throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    # Before the admin's own URLs: the same log-in, a 429 when guesses are refused.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/", include("api.urls")),
    path("", include("ops.urls")),
    path("", include("chat.urls")),
]
