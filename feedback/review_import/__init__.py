"""Online review import: CSV and JSON exports from Google, Trustpilot, app stores.

``reading`` and ``values`` are plain Python (files, cells); ``services`` holds the use
cases every front door calls; ``selectors`` the reads of the pages and the API.
"""

from .services import (
    ALLOWED_EXTENSIONS,
    IMPORT_BATCH_SIZE,
    MAX_LISTED_ERRORS,
    create_review_import,
    delete_abandoned_review_imports,
    delete_review_import,
    import_reviews_from_upload,
    max_upload_bytes,
    resume_review_import,
    run_review_import,
    start_review_import,
)

__all__ = [
    "ALLOWED_EXTENSIONS",
    "IMPORT_BATCH_SIZE",
    "MAX_LISTED_ERRORS",
    "create_review_import",
    "delete_abandoned_review_imports",
    "delete_review_import",
    "import_reviews_from_upload",
    "max_upload_bytes",
    "resume_review_import",
    "run_review_import",
    "start_review_import",
]
