"""What people read: the daily digest (and, later, agency trend pages)."""
