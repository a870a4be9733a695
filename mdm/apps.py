from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = _("Customer master data")
    default_auto_field = "django.db.models.BigAutoField"
