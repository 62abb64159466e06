"""Innovation endpoints under /api/v1/: ideas and evidence, roadmap and suggestions."""

from .backlog_api_urls import urlpatterns as backlog_patterns
from .roadmap_api_urls import urlpatterns as roadmap_patterns

urlpatterns = backlog_patterns + roadmap_patterns
