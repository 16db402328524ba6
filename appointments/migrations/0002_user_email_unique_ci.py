"""Two accounts may not share an email address in any letter case, since it is the sign-in name.

Django's own User model has no such constraint, so this adds a unique index on the lower-cased
email (empty addresses excluded) to auth_user. Both SQLite and PostgreSQL support it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE UNIQUE INDEX appointments_user_email_ci "
                "ON auth_user (LOWER(email)) WHERE email <> ''"
            ),
            reverse_sql="DROP INDEX appointments_user_email_ci",
        ),
    ]
