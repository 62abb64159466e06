"""A GIN index over the English text-search vector of feedback text and submitter name
(PostgreSQL only).

The index is built from the same expression the inbox search filters on
(``feedback.search.TEXT_VECTOR``), so PostgreSQL uses it; SQLite searches with LIKE.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "feedback_text_search"


def _index():
    return GinIndex(SearchVector("text", "submitter_name", config="english"), name=INDEX_NAME)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.add_index(apps.get_model("feedback", "Feedback"), _index())


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("feedback", "Feedback"), _index())


class Migration(migrations.Migration):
    dependencies = [("feedback", "0004_channels")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
