"""The staff admin, one module per concern; importing them registers every admin.

appointment_types (lead groups, appointment types) with flg_tools (the webhook's URL, the
connection check, "Verify with FLG"); customers with importing (the CSV upload, preview and
signed confirm); records (sessions, failures, deliveries: read only, on base.ReadOnlyAdmin)
with filters.
"""

from django.contrib import admin

from appointments.admin import appointment_types, customers, records  # noqa: F401

admin.site.site_header = "Booking portal administration"
admin.site.site_title = "Booking portal admin"
admin.site.index_title = "Appointment types, lead groups and customers"
# The side list of every model takes a quarter of a 1280 px screen from the lists; the home
# page and the breadcrumbs lead to them.
admin.site.enable_nav_sidebar = False
