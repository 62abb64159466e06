import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customization", "0002_alter_segment_options_segment_created_by_and_more"),
        ("insights", "0008_theme_rollup_survey_scores"),
    ]

    operations = [
        migrations.AddField(
            model_name="alertrule",
            name="inactive_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="alertrule",
            name="segment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alert_rules",
                to="customization.segment",
            ),
        ),
        migrations.AddField(
            model_name="alertrule",
            name="theme",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alert_rules",
                to="insights.theme",
            ),
        ),
    ]
