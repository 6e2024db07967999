"""eventpromo: calendar events -> countdown campaigns -> scheduled posts -> tracked RSVP clicks."""

__version__ = "0.1.0"
