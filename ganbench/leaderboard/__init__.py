"""Leaderboards built from the results store: Markdown, CSV and a static HTML site."""

from __future__ import annotations

from ganbench.leaderboard.build import build_leaderboards, write_leaderboards
from ganbench.leaderboard.table import LeaderboardTable, build_tables

__all__ = ["LeaderboardTable", "build_leaderboards", "build_tables", "write_leaderboards"]
