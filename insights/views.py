from django.shortcuts import render

from accounts.decorators import permission_required

from . import selectors


@permission_required("feedback.view_insights")
def dashboard(request):
    kpis = selectors.kpi_comparison(days=30)
    return render(
        request,
        "insights/dashboard.html",
        {
            "kpis": kpis,
            "series": selectors.weekly_series(weeks=52),
            "pending": selectors.pending_analysis_count(),
        },
    )
