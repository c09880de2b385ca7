from django.urls import path

from audits import api

urlpatterns = [
    path("audits", api.AuditEventListApi.as_view(), name="audit-list"),
    path("audits/export.csv", api.AuditEventExportApi.as_view(), name="audit-export"),
    path("audits/seals/latest", api.LatestAuditSealApi.as_view(), name="audit-seal-latest"),
]
