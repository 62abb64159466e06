"""Innovation pages: the idea backlog, and the roadmap with its changelog and suggestions."""

from .backlog_urls import urlpatterns as backlog_patterns
from .roadmap_urls import urlpatterns as roadmap_patterns

app_name = "innovation"

urlpatterns = backlog_patterns + roadmap_patterns
