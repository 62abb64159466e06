"""Models of the insights engine, one module per topic."""

from .monitoring import *  # noqa: F403
from .segments import DailySegmentStat, RollupVersion
from .sentiment import DailyFeedbackStat, DirtyRollupDay, SentimentCorrection, SentimentModel
from .themes import *  # noqa: F403

__all__ = [
    "DailyFeedbackStat",
    "DailySegmentStat",
    "DirtyRollupDay",
    "SentimentCorrection",
    "RollupVersion",
    "SentimentModel",
]
