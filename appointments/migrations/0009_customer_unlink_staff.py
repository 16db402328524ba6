"""Unlink every customer record from a staff account: a staff account is never a customer.

Before this release the CSV import could link an existing staff (or superuser) account to a
customer record, and a lead webhook delivery for that lead could then change the staff account's
email: a way into the admin. Each such record is re-pointed to a new account of its own,
inactive, with no email and no usable password, named `unlinked-lead-<lead id>` so that staff can
find it. Nothing is deleted and every count stays true: the record keeps its id, lead id, lead
group, status, sessions, failures and webhook deliveries (so the customer count, and every count
per customer, is what it was), and the staff account keeps everything but the link. The only
rows added are those accounts, one per unlinked record, and they cannot sign in.

Making `Customer.user` nullable instead would keep the account count too, but every customer
path reads the customer's account; a record without one would be a new case for all of them.

Backwards it changes nothing: linking the staff accounts again would reopen the hole, and the
records are valid as they are at 0008 (the schema does not change).
"""

from django.contrib.auth.hashers import make_password
from django.db import migrations
from django.db.models import Q


def unlink_staff(apps, schema_editor):
    Customer = apps.get_model("appointments", "Customer")
    User = apps.get_model("auth", "User")
    linked = Customer.objects.filter(Q(user__is_staff=True) | Q(user__is_superuser=True))
    for customer in linked.order_by("pk"):
        name, n = f"unlinked-lead-{customer.lead_id}", 2
        while User.objects.filter(username=name).exists():
            name, n = f"unlinked-lead-{customer.lead_id}-{n}", n + 1
        account = User.objects.create(
            username=name, email="", password=make_password(None), is_active=False
        )
        Customer.objects.filter(pk=customer.pk).update(user=account)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0008_session_booked_at"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(unlink_staff, migrations.RunPython.noop, elidable=False),
    ]
