from django.urls import path

from submissions import api

urlpatterns = [
    path("automations", api.AutomationListApi.as_view(), name="automations"),
    path("submissions", api.SubmissionListCreateApi.as_view(), name="submissions"),
    path("submissions/<int:pk>", api.SubmissionDetailApi.as_view(), name="submission-detail"),
    path("submissions/<int:pk>/retry", api.SubmissionRetryApi.as_view(), name="submission-retry"),
    path("submissions/<int:pk>/result", api.SubmissionResultApi.as_view(), name="submission-result"),
    path("submissions/<int:pk>/files/<str:name>", api.SubmissionFileApi.as_view(), name="submission-file"),
]
