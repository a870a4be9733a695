from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = _("Customer master data")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mdm import audit_signals  # noqa: F401  (connects the receivers)
        from mdm.db_guards import guards_ensure

        post_migrate.connect(guards_ensure, sender=self, dispatch_uid="mdm_guards")
